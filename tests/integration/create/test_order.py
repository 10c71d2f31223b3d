"""Paying and getting the video (U12): one hold per draft whatever the taps, too few credits explained,
progress, the result with its buttons, a failure refunded with its reason, My videos (U14) without uploads."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app.services.providers import ProviderError, RenderedVideo
from app.services.video.local import LocalVideoMaker
from tests.integration.create.chat import Chat, labels, shown
from tests.integration.create.conftest import BotStarter, RunningBot
from tests.integration.create.steps import CONFIRM, SCRIPT, TAKE, button, to_confirm

READY = "is ready!"
PRICE = 8  # 3 cr. voice-over + 5 cr. for the first 5 s (catalog/pricing.yaml); the scripts here are short


async def all_answered(bot: RunningBot, ids: set[str], within: float = 60.0) -> None:
    """Until the bot has answered every one of the taps (each waits for the user's lock in turn)."""
    deadline = asyncio.get_running_loop().time() + within
    while not all([(await bot.tg.callback(i))["answered"] for i in ids]):
        assert asyncio.get_running_loop().time() < deadline, "some taps were never answered"
        await asyncio.sleep(0.1)


async def balance(chat: Chat) -> str:
    await chat.say("/menu", "UGC Bot")
    # "Recent transactions": the menu above says "Balance:" too, and must not be taken for the balance window.
    return shown(await chat.tap("💰 Balance", "Recent transactions"))


async def test_double_tapping_pay_makes_one_video_and_one_hold(bot: RunningBot) -> None:
    chat = await bot.chat()
    confirm = await to_confirm(chat)
    assert f"Total: {PRICE} cr. · your balance: 50 cr." in shown(confirm)
    pay = button(confirm, "💳 Pay")

    since = await chat.change()
    taps = [bot.tg.click(chat.user_id, confirm["message_id"], button=pay) for _ in range(2)]
    assert len({t["callback_query_id"] for t in await asyncio.gather(*taps)}) == 2, (
        "both taps reached the bot"
    )
    result = await chat.arrives(READY, since=since)
    await bot.jobs_done()

    assert result["media"]["kind"] == "video"
    text = await balance(chat)
    assert f"Balance: {50 - PRICE} cr." in text
    assert text.count("held for a video") == 1 and text.count("paid for a video") == 1
    videos = await chat.tap("← Back", "UGC Bot")
    videos = await chat.tap("🗂 My videos", "My videos: 1", on=videos)
    assert len(videos["buttons"]) == 2, labels(videos)  # the video and Back


async def test_fifty_taps_on_pay_at_once_make_one_video_one_hold_one_capture(bot: RunningBot) -> None:
    chat = await bot.chat()
    confirm = await to_confirm(chat)
    pay = button(confirm, "💳 Pay")

    since = await chat.change()
    taps = [bot.tg.click(chat.user_id, confirm["message_id"], button=pay) for _ in range(50)]
    ids = {t["callback_query_id"] for t in await asyncio.gather(*taps)}
    assert len(ids) == 50, "all taps reached the bot"
    await all_answered(bot, ids)
    await chat.arrives(READY, since=since)
    await bot.jobs_done()

    videos = [
        m for m in await chat.messages() if m["from"] == "bot" and (m["media"] or {}).get("kind") == "video"
    ]
    assert len(videos) == 1, "one video message"
    text = await balance(chat)
    assert f"Balance: {50 - PRICE} cr." in text
    assert text.count("held for a video") == 1 and text.count("paid for a video") == 1
    videos_list = await chat.tap("← Back", "UGC Bot")
    videos_list = await chat.tap("🗂 My videos", "My videos: 1", on=videos_list)
    assert len(videos_list["buttons"]) == 2, labels(videos_list)  # the one video and Back


async def test_too_few_credits_get_a_clear_screen(start_bot: BotStarter) -> None:
    bot = await start_bot(WELCOME_BONUS="5")
    chat = await bot.chat()
    confirm = await to_confirm(chat)

    screen = await chat.tap(button(confirm, "💳 Pay"), "Not enough credits")

    assert f"The video costs {PRICE} cr., your balance is 5 cr. — {PRICE - 5} cr. short." in shown(screen)
    assert {"💰 Balance", "← Back", "🏠 Menu"} <= set(labels(screen))
    await chat.tap("← Back", CONFIRM)
    assert "Balance: 5 cr." in await balance(chat)


async def test_the_result_its_buttons_and_my_videos_resend_by_file_id(bot: RunningBot) -> None:
    chat = await bot.chat()
    confirm = await to_confirm(chat, "Our bakery opens at seven.")
    result = await chat.tap(button(confirm, "💳 Pay"), READY)
    await bot.jobs_done()
    assert "(local render)" in shown(result)
    assert labels(result) == ["🎬 New video", "📝 Same setup, new text", "🗂 My videos", "🏠 Menu"]
    video = result["media"]

    listing = await chat.tap("🗂 My videos", "My videos: 1")
    assert "Talking head · Anna" in shown(listing) and "✅ ready" in shown(listing)
    assert "“Our bakery opens at seven.”" in shown(listing)
    calls_before = (await bot.tg.calls())[-1]["n"]
    item = await chat.tap(labels(listing)[0], "Video #1")
    assert item["media"]["kind"] == "video" and item["media"]["file_id"] == video["file_id"]
    audio = await chat.tap("🔊 Voice-over", "The voice-over of video #1")
    assert audio["media"]["kind"] == "voice"
    await chat.tap("← Back", "Video #1")
    resent = [c for c in await bot.tg.calls() if c["n"] > calls_before]
    assert [c for c in resent if c["files"]] == [], "sent again by file_id: nothing uploaded"

    await chat.tap("🗑 Delete", "Delete video #1?")
    listing = await chat.tap("🗑 Yes, delete", "My videos: 0")
    assert "You have no videos yet" in shown(listing)


async def test_same_setup_new_text_and_new_video(bot: RunningBot) -> None:
    chat = await bot.chat()
    confirm = await to_confirm(chat)
    await chat.tap(button(confirm, "💳 Pay"), READY)
    await bot.jobs_done()

    script = await chat.tap("📝 Same setup, new text", SCRIPT)
    assert "Now:" not in shown(script), "the script starts empty"
    await chat.say("A second line for the same actor.", TAKE)
    confirm = await chat.tap("✅ Sounds good →", CONFIRM)
    assert "Actor: Anna" in shown(confirm) and "Format: Talking head" in shown(confirm)
    result = await chat.tap(button(confirm, "💳 Pay"), READY)
    await bot.jobs_done()
    assert "#2" in shown(result)
    await chat.tap("🎬 New video", "Choose the format")


@pytest.fixture
def failing_render(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail(self: LocalVideoMaker, image: Path, speech: Path, **_: Any) -> RenderedVideo:
        raise ProviderError("video_failed", "ffmpeg exploded")

    monkeypatch.setattr(LocalVideoMaker, "make", fail)


@pytest.mark.usefixtures("failing_render")
async def test_a_failed_render_returns_the_credits_and_says_why(bot: RunningBot) -> None:
    chat = await bot.chat()
    confirm = await to_confirm(chat)

    notice = await chat.tap(button(confirm, "💳 Pay"), "could not be made")
    await bot.jobs_done()

    assert "the video could not be rendered" in shown(notice)
    assert f"The {PRICE} cr. went back to your balance." in shown(notice)
    text = await balance(chat)
    assert "Balance: 50 cr." in text and "returned for a video" in text
    await chat.tap("← Back", "UGC Bot")
    listing = await chat.tap("🗂 My videos", "❌ failed")
    item = await chat.tap(labels(listing)[0], "Video #1")
    assert f"Why: the video could not be rendered. The {PRICE} cr. went back" in shown(item)
    assert item["media"] is None and "🗑 Delete" in labels(item)


async def test_the_user_may_leave_while_it_renders_and_the_video_still_arrives(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()
    render = LocalVideoMaker.make

    async def slow(self: LocalVideoMaker, image: Path, speech: Path, **kwargs: Any) -> RenderedVideo:
        await gate.wait()
        return await render(self, image, speech, **kwargs)

    monkeypatch.setattr(LocalVideoMaker, "make", slow)
    chat = await bot.chat()
    confirm = await to_confirm(chat)
    progress = await chat.tap(button(confirm, "💳 Pay"), "You can leave this screen")
    assert "(local render)" in shown(progress) and "Video #1" in shown(progress)

    menu = await chat.tap("🏠 Menu", "UGC Bot")
    since = await chat.change()
    gate.set()
    result = await chat.arrives(READY, since=since)
    await bot.jobs_done()

    assert result["message_id"] > menu["message_id"], "the video comes as a new message"
    await chat.tap("🏠 Menu", "UGC Bot", on=result)


async def test_a_third_video_while_two_render_waits_for_one_of_them(
    start_bot: BotStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never(self: LocalVideoMaker, image: Path, speech: Path, **_: Any) -> RenderedVideo:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    monkeypatch.setattr(LocalVideoMaker, "make", never)
    bot = await start_bot()
    chat = await bot.chat()
    for _ in range(2):
        confirm = await to_confirm(chat)
        await chat.tap(button(confirm, "💳 Pay"), "You can leave this screen")
        await chat.tap("🏠 Menu", "UGC Bot")

    confirm = await to_confirm(chat)
    window = await chat.tap(button(confirm, "💳 Pay"), "You already have 2 videos in progress")

    assert CONFIRM in shown(window), "the user stays on the price, nothing charged"
    assert f"your balance: {50 - 2 * PRICE} cr." in shown(window)
