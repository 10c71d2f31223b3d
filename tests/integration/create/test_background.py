"""The background upload (U6): every file a user may send instead of a usable video gets its own clear answer
and the user stays on the upload window; a good video is shown back and can be replaced."""

from __future__ import annotations

import pytest

from tests.integration.create.chat import Chat, labels, shown
from tests.integration.create.conftest import RunningBot
from tests.integration.create.media import Media

ASK = "Send the background video"


@pytest.fixture
async def chat(bot: RunningBot) -> Chat:
    chat = await bot.chat()
    await chat.tap("🎬 Create video", "Choose the format")
    await chat.tap("🎞 Character over your video", ASK)
    return chat


async def test_a_good_video_is_shown_back_and_can_be_replaced(chat: Chat, media: Media) -> None:
    window = await chat.upload(
        media.background, kind="video", file_name="shop.mp4", expect="Background received"
    )

    assert window["media"]["kind"] == "video"
    assert "Background received (3.0 s)" in shown(window)
    assert {"Continue →", "🔄 Replace"} <= set(labels(window))
    uploads = [m for m in await chat.messages() if m["from"] == "user" and m["media"]]
    assert window["media"]["file_id"] == uploads[-1]["media"]["file_id"], "shown back without a new upload"

    replaced = await chat.tap("🔄 Replace", ASK)
    assert replaced["media"] is None and "Continue →" not in labels(replaced)
    window = await chat.upload(
        media.background, kind="document", file_name="shop.mov", expect="Background received"
    )
    assert window["media"]["kind"] == "document", "a file comes back as the file it was"
    await chat.tap("Continue →", "Who will star")


async def test_a_photo_instead_of_a_video(chat: Chat, media: Media) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    reply = await chat.upload(png, kind="photo", file_name="me.png", expect="I need a video here")
    assert "as a video or as a file" in shown(reply)
    await chat.below(reply, ASK)  # the upload window is shown again under the answer


async def test_a_16_second_video(chat: Chat, media: Media) -> None:
    reply = await chat.upload(media.long, kind="video", file_name="long.mp4", expect="too long")
    assert "the limit is 15 seconds" in shown(reply)


async def test_a_16_second_video_sent_as_a_file_is_measured_by_ffprobe(chat: Chat, media: Media) -> None:
    window = await chat.upload(media.long, kind="document", file_name="long.mp4", expect="too long")
    assert "the limit is 15 seconds" in shown(window)
    assert ASK in shown(window) and "Continue →" not in labels(window)


async def test_a_30_mb_video(chat: Chat, media: Media) -> None:
    reply = await chat.upload(media.huge, kind="video", file_name="big.mp4", expect="too big")
    assert "the limit is 20 MB" in shown(reply)


async def test_a_text_file_renamed_to_mp4(chat: Chat, media: Media) -> None:
    window = await chat.upload(media.text, kind="document", file_name="clip.mp4", expect="not a video")
    assert "Send an MP4, MOV or WebM video" in shown(window)
    assert "Continue →" not in labels(window)


async def test_a_corrupt_video(chat: Chat, media: Media) -> None:
    window = await chat.upload(media.corrupt, kind="document", file_name="broken.mp4", expect="damaged")
    assert "Continue →" not in labels(window)
