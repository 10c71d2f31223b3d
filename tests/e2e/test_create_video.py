"""Issue 4's "done when": a new user of the real bot process, through the local Telegram stand-in, makes a
video in both formats, gets playable MP4s that match the speech, pays the shown price, and My videos resends
them without uploading again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BotStarter
from tests.integration.create.chat import Chat, labels, shown
from tests.integration.create.media import ffprobe, make_media
from tests.integration.create.steps import CONFIRM, GALLERY, LOOK, SCRIPT, TAKE, VOICES, button
from tests.support.localtg import ControlClient

pytestmark = pytest.mark.e2e
USER = 7201
READY = "is ready!"


def download(message: dict[str, Any], dest: Path) -> Path:
    dest.write_bytes(httpx.get(message["media"]["url"], timeout=30).content)
    return dest


def duration(path: Path) -> float:
    return float(ffprobe(path)["format"]["duration"])


def price(confirm: dict[str, Any]) -> int:
    found = re.search(r"Total: (\d+) cr\.", shown(confirm))
    assert found, shown(confirm)
    return int(found.group(1))


async def balance(chat: Chat) -> int:
    await chat.say("/menu", "UGC Bot")
    found = re.search(r"Balance: (\d+) cr\.", shown(await chat.window()))
    assert found
    return int(found.group(1))


async def make_video(chat: Chat, tmp_path: Path, *, gender: str, script: str) -> tuple[Path, float, int]:
    """From the voice gallery to the delivered video: (the MP4, the speech's duration, the price paid)."""
    voices = await chat.tap("Keep this look →", VOICES)
    await chat.tap(button(voices, "✅ Pick"), SCRIPT)
    take = await chat.say(script, TAKE)
    speech = duration(download(take, tmp_path / f"{gender}-take.ogg"))
    confirm = await chat.tap("✅ Sounds good →", CONFIRM)
    paid = price(confirm)
    result = await chat.tap(button(confirm, "💳 Pay"), READY, within=120)
    assert "(local render)" in shown(result)
    assert labels(result) == ["🎬 New video", "📝 Same setup, new text", "🗂 My videos", "🏠 Menu"]
    return download(result, tmp_path / f"{gender}.mp4"), speech, paid


def assert_playable(video: Path, speech: float) -> None:
    info = ffprobe(video)
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert (streams["video"]["width"], streams["video"]["height"]) == (720, 1280)
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    assert abs(float(info["format"]["duration"]) - speech) <= 0.5, (info["format"]["duration"], speech)


async def test_a_new_user_makes_both_formats_pays_the_shown_price_and_gets_them_again(
    start_bot: BotStarter, tg: ControlClient, tmp_path: Path
) -> None:
    start_bot()
    await tg.create_user(USER, "Eve", language_code="en")
    chat = Chat(tg, USER)
    await chat.say("/start", "UGC Bot")
    assert await balance(chat) == 50

    # Talking head.
    await chat.tap("🎬 Create video", "Choose the format")
    await chat.tap("🗣 Talking head", "Who will star")
    await chat.tap("👩 A woman", GALLERY)
    await chat.tap("✅ Pick Anna", LOOK)
    head, head_speech, head_price = await make_video(
        chat, tmp_path, gender="female", script="Hello! Meet our new face cream. It smells of summer."
    )
    assert_playable(head, head_speech)

    # Character over the user's own video.
    await chat.tap("🎬 New video", "Choose the format")
    await chat.tap("🎞 Character over your video", "Send the background video")
    background = make_media(tmp_path).background
    await chat.upload(background, kind="video", file_name="shop.mp4", expect="Background received")
    await chat.tap("Continue →", "Who will star")
    gallery = await chat.tap("👨 A man", GALLERY)
    await chat.tap(button(gallery, "✅ Pick"), LOOK)
    over, over_speech, over_price = await make_video(
        chat, tmp_path, gender="male", script="Our shop is open every day from nine to nine. Come in!"
    )
    assert_playable(over, over_speech)
    assert over_price > head_price, "the background format costs its surcharge"

    assert await balance(chat) == 50 - head_price - over_price

    # My videos lists both and sends one again by file_id: no file is uploaded for it.
    listing = await chat.tap("🗂 My videos", "My videos: 2")
    assert "Character over your video" in shown(listing) and "Talking head" in shown(listing)
    since = (await tg.calls())[-1]["n"]
    item = await chat.tap(labels(listing)[1], "Talking head")
    assert item["media"]["kind"] == "video"
    resent = [c for c in await tg.calls() if c["n"] > since]
    assert any(c["method"] in ("editMessageMedia", "sendVideo") for c in resent)
    assert [c for c in resent if c["files"]] == [], "the video went by file_id, not as a new upload"
    assert download(item, tmp_path / "again.mp4").read_bytes() == head.read_bytes()
