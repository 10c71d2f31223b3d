"""Input checks and the replies a refused message gets, without a bot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from aiogram.types import Animation, Audio, Chat, Document, Message, PhotoSize, Video, Voice

from dialogs.i18n import TextCatalog
from dialogs.inputs import ReceivedMedia, Rejection, check_input, mime_allowed, rejection_text
from dialogs.schema import Input

MB = 1024 * 1024


def message(**content: Any) -> Message:
    return Message(message_id=1, date=datetime(2026, 11, 24), chat=Chat(id=1, type="private"), **content)


def spec(**fields: Any) -> Input:
    return Input.model_validate({"action": "take", **fields})


def video(**overrides: Any) -> Video:
    fields: dict[str, Any] = {
        "file_id": "v",
        "file_unique_id": "vu",
        "width": 720,
        "height": 1280,
        "duration": 15,
        "mime_type": "video/mp4",
        "file_size": 20 * MB,
    }
    return Video(**{**fields, **overrides})


VIDEO_SPEC = spec(accept=["video", "document"], max_mb=20, max_seconds=15, mime=["video/mp4", "video/webm"])


def test_limits_are_inclusive() -> None:
    assert isinstance(check_input(VIDEO_SPEC, message(video=video())), ReceivedMedia)
    assert check_input(spec(accept=["text"], min_length=2, max_length=3), message(text="abc")) == "abc"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"video": video(file_size=20 * MB + 1)}, "too_big"),
        ({"video": video(duration=16)}, "too_long_media"),
        ({"video": video(mime_type="video/x-msvideo")}, "wrong_type"),
        ({"video": video(mime_type=None)}, "wrong_type"),
        ({"text": "hi"}, "wrong_kind"),
        ({"voice": Voice(file_id="o", file_unique_id="ou", duration=3)}, "wrong_kind"),
    ],
)
def test_video_rejections(content: dict[str, Any], problem: str) -> None:
    result = check_input(VIDEO_SPEC, message(**content))
    assert isinstance(result, Rejection)
    assert result.problem == problem


def test_unknown_size_or_duration_is_not_held_against_the_user() -> None:
    result = check_input(VIDEO_SPEC, message(video=video(file_size=None, duration=0)))
    assert isinstance(result, ReceivedMedia)


def test_animation_is_not_a_document_even_though_telegram_sends_both() -> None:
    gif = Animation(file_id="g", file_unique_id="gu", width=1, height=1, duration=1, mime_type="video/mp4")
    doc = Document(file_id="g", file_unique_id="gu", mime_type="video/mp4")
    result = check_input(VIDEO_SPEC, message(animation=gif, document=doc))
    assert result == Rejection("wrong_kind")


def test_photo_is_image_jpeg_and_the_largest_size_is_taken() -> None:
    sizes = [
        PhotoSize(file_id="s", file_unique_id="su", width=90, height=90),
        PhotoSize(file_id="l", file_unique_id="lu", width=1280, height=1280, file_size=MB),
    ]
    result = check_input(spec(accept=["photo"], mime=["image/*"]), message(photo=sizes))
    assert result == ReceivedMedia("photo", "l", "lu", MB, "image/jpeg", None, 1280, 1280)
    refused = check_input(spec(accept=["photo"], mime=["image/png"]), message(photo=sizes))
    assert refused == Rejection("wrong_type", {"mime": "image/jpeg"})


def test_audio_value_carries_duration_and_name() -> None:
    audio = Audio(file_id="a", file_unique_id="au", duration=30, mime_type="audio/mpeg", file_name="x.mp3")
    result = check_input(spec(accept=["audio"]), message(audio=audio))
    assert result == ReceivedMedia("audio", "a", "au", None, "audio/mpeg", 30, None, None, "x.mp3")


def test_mime_wildcards() -> None:
    assert mime_allowed("Video/MP4", ["video/*"])
    assert not mime_allowed("audio/mp4", ["video/*"])


TEXTS = TextCatalog(
    {
        "en": {
            "input.wrong_kind": "Send: {accept}.",
            "input.too_big": "{size_mb} of {max_mb} MB",
            "input.too_short": "{length} < {min}",
            "input.wrong_type": "{mime} not in {allowed}",
            "input.kind.video": "a video",
            "custom.short": "Longer, please: {min}+",
        },
        "ru": {"input.wrong_kind": "Отправьте: {accept}.", "input.kind.video": "видео"},
    },
    "en",
)


def test_rejection_texts_are_formatted_and_readable() -> None:
    assert rejection_text(VIDEO_SPEC, Rejection("wrong_kind"), TEXTS, "en") == "Send: a video, document."
    assert rejection_text(VIDEO_SPEC, Rejection("wrong_kind"), TEXTS, "ru") == "Отправьте: видео, document."
    big = check_input(VIDEO_SPEC, message(video=video(file_size=int(25.5 * MB))))
    assert isinstance(big, Rejection)
    assert rejection_text(VIDEO_SPEC, big, TEXTS, "en") == "25.5 of 20 MB"
    wrong = check_input(VIDEO_SPEC, message(video=video(mime_type="video/avi")))
    assert isinstance(wrong, Rejection)
    assert rejection_text(VIDEO_SPEC, wrong, TEXTS, "en") == "video/avi not in video/mp4, video/webm"


def test_messages_override_the_default_text() -> None:
    text_spec = spec(accept=["text"], min_length=5, messages={"too_short": "custom.short"})
    short = check_input(text_spec, message(text="abc"))
    assert isinstance(short, Rejection)
    assert rejection_text(text_spec, short, TEXTS, "en") == "Longer, please: 5+"
    plain = spec(accept=["text"], min_length=5)
    assert rejection_text(plain, short, TEXTS, "en") == "3 < 5"
