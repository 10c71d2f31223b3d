"""Files: real sizes from ffprobe, file_id re-use, getFile + download, URLs, albums and the limits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramEntityTooLarge
from aiogram.types import BufferedInputFile, InputMediaPhoto, InputMediaVideo

from tests.support.localtg import ControlClient, RunningServer

MB = 1024 * 1024


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A 2 s 320×240 video with sound, a 64×48 PNG, a 1 s opus voice note and a 3 s mp3, made by ffmpeg."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg/ffprobe not installed (Debian package ffmpeg)")
    folder = tmp_path_factory.mktemp("media")
    recipes = {
        "clip.mp4": "-f lavfi -i testsrc=size=320x240:rate=10 -f lavfi -i sine=frequency=440 -t 2 -shortest "
        "-pix_fmt yuv420p -c:v libx264 -preset ultrafast -c:a aac",
        "red.png": "-f lavfi -i color=c=red:size=64x48 -frames:v 1",
        "voice.ogg": "-f lavfi -i sine=frequency=300 -t 1 -c:a libopus",
        "song.mp3": "-f lavfi -i sine -t 3 -c:a libmp3lame",
    }
    for name, recipe in recipes.items():
        subprocess.run(["ffmpeg", "-v", "error", "-y", *recipe.split(), str(folder / name)], check=True)
    return {name: Path(folder / name).read_bytes() for name in recipes}


async def test_a_user_video_round_trips_through_get_file_with_its_real_size(
    bot: Bot, tg: ControlClient, user: int, media: dict[str, bytes]
) -> None:
    uploaded = await tg.upload(user, media["clip.mp4"], kind="video", file_name="clip.mp4", caption="my clip")

    updates = await bot.get_updates()
    video = next(u.message.video for u in updates if u.message and u.message.video)
    assert (video.width, video.height, video.duration) == (320, 240, 2)
    assert video.file_id == uploaded["file_id"]
    file = await bot.get_file(video.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == media["clip.mp4"]
    shown = (await tg.visible(user))[-1]
    assert shown["caption"] == "my clip"
    assert shown["media"]["kind"] == "video" and shown["media"]["mime_type"] == "video/mp4"


async def test_every_send_method_returns_what_aiogram_validates(
    bot: Bot, tg: ControlClient, user: int, media: dict[str, bytes]
) -> None:
    photo = await bot.send_photo(user, BufferedInputFile(media["red.png"], "red.png"))
    video = await bot.send_video(user, BufferedInputFile(media["clip.mp4"], "clip.mp4"), caption="ad")
    voice = await bot.send_voice(user, BufferedInputFile(media["voice.ogg"], "voice.ogg"))
    audio = await bot.send_audio(user, BufferedInputFile(media["song.mp3"], "song.mp3"), title="Tune")
    document = await bot.send_document(user, BufferedInputFile(b"%PDF-1.4 tiny", "terms.pdf"))
    animation = await bot.send_animation(user, BufferedInputFile(media["clip.mp4"], "loop.mp4"))

    assert photo.photo is not None and (photo.photo[-1].width, photo.photo[-1].height) == (64, 48)
    assert video.video is not None and (video.video.width, video.video.duration) == (320, 2)
    assert voice.voice is not None and voice.voice.duration == 1 and voice.voice.mime_type == "audio/ogg"
    assert audio.audio is not None and audio.audio.duration == 3 and audio.audio.title == "Tune"
    assert document.document is not None and document.document.file_name == "terms.pdf"
    assert document.document.mime_type == "application/pdf"
    assert animation.animation is not None and animation.animation.height == 240
    kinds = [m["media"]["kind"] for m in await tg.visible(user) if m["media"]]
    assert kinds == ["photo", "video", "voice", "audio", "document", "animation"]


async def test_a_file_id_can_be_sent_again_but_not_as_another_kind(
    bot: Bot, user: int, media: dict[str, bytes]
) -> None:
    first = await bot.send_video(user, BufferedInputFile(media["clip.mp4"], "clip.mp4"))
    assert first.video is not None

    again = await bot.send_video(user, first.video.file_id)

    assert again.video is not None and again.video.file_unique_id == first.video.file_unique_id
    with pytest.raises(TelegramBadRequest, match="type of file mismatch"):
        await bot.send_photo(user, first.video.file_id)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_video(user, "BAACAgIAAxkBAAnot-a-real-id")


async def test_the_bot_can_send_by_http_url(
    bot: Bot, tg: ControlClient, server: RunningServer, user: int, media: dict[str, bytes]
) -> None:
    uploaded = await tg.upload(user, media["red.png"], kind="document", file_name="red.png")

    sent = await bot.send_photo(user, f"{server.url}/control/files/{uploaded['file_unique_id']}")

    assert sent.photo is not None and sent.photo[-1].width == 64
    with pytest.raises(TelegramBadRequest, match="failed to get HTTP URL content"):
        await bot.send_photo(user, f"{server.url}/control/files/missing")


async def test_an_album_shares_one_media_group_and_has_at_most_ten_items(
    bot: Bot, user: int, media: dict[str, bytes]
) -> None:
    photo = BufferedInputFile(media["red.png"], "red.png")
    video = BufferedInputFile(media["clip.mp4"], "clip.mp4")

    album = await bot.send_media_group(
        user, [InputMediaPhoto(media=photo, caption="first"), InputMediaVideo(media=video)]
    )

    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id is not None
    assert album[0].caption == "first"
    file_id = album[0].photo[-1].file_id if album[0].photo else ""
    with pytest.raises(TelegramBadRequest, match="too many messages to send as an album"):
        await bot.send_media_group(user, [InputMediaPhoto(media=file_id) for _ in range(11)])


async def test_edit_media_swaps_the_file_and_the_same_media_is_not_modified(
    bot: Bot, tg: ControlClient, user: int, media: dict[str, bytes]
) -> None:
    sent = await bot.send_photo(user, BufferedInputFile(media["red.png"], "red.png"), caption="before")

    edited = await bot.edit_message_media(
        InputMediaVideo(media=BufferedInputFile(media["clip.mp4"], "clip.mp4"), caption="after"),
        chat_id=user,
        message_id=sent.message_id,
    )

    assert not isinstance(edited, bool) and edited.video is not None and edited.caption == "after"
    shown = await tg.last_bot_message(user)
    assert (shown["media"]["kind"], shown["caption"], shown["edited"]) == ("video", "after", True)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_media(
            InputMediaVideo(media=edited.video.file_id, caption="after"),
            chat_id=user,
            message_id=sent.message_id,
        )


async def test_edit_media_adds_a_picture_to_a_text_message(
    bot: Bot, tg: ControlClient, user: int, media: dict[str, bytes]
) -> None:
    text = await bot.send_message(user, "pick an actor")

    edited = await bot.edit_message_media(
        InputMediaPhoto(media=BufferedInputFile(media["red.png"], "red.png"), caption="Anna, 23"),
        chat_id=user,
        message_id=text.message_id,
    )

    assert not isinstance(edited, bool) and edited.photo and edited.caption == "Anna, 23"
    assert edited.text is None
    shown = await tg.last_bot_message(user)
    assert (shown["media"]["kind"], shown["text"], shown["caption"]) == ("photo", None, "Anna, 23")


async def test_upload_limits_fail_the_way_telegram_does(bot: Bot, tg: ControlClient, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match="PHOTO_SAVE_FILE_INVALID"):
        await bot.send_photo(user, BufferedInputFile(b"\0" * (10 * MB + 1), "huge.jpg"))
    with pytest.raises(TelegramEntityTooLarge, match="Request Entity Too Large"):
        await bot.send_document(user, BufferedInputFile(b"\0" * (50 * MB + 1), "huge.bin"))
    with pytest.raises(TelegramBadRequest, match="file must be non-empty"):
        await bot.send_document(user, BufferedInputFile(b"", "empty.txt"))
    assert [m["text"] for m in await tg.visible(user)] == ["/start"]


async def test_get_file_refuses_files_over_20_mb(bot: Bot, tg: ControlClient, user: int) -> None:
    big = await tg.upload(user, b"\0" * (20 * MB + 1), kind="document", file_name="big.bin")

    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(big["file_id"])
    with pytest.raises(TelegramBadRequest, match="wrong file_id or the file is temporarily unavailable"):
        await bot.get_file("nope")
