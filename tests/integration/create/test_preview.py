"""The price screen's extras through the whole bot: captions on/off and their style, and a free preview that
arrives as a video while nothing is charged — and the user can still pay afterwards."""

from __future__ import annotations

from tests.integration.create.chat import Chat, labels, shown
from tests.integration.create.conftest import RunningBot
from tests.integration.create.steps import CONFIRM, button, to_confirm

PREVIEW = "👀 Free preview"
PREVIEW_CAPTION = "Free preview of your video"
READY = "is ready!"
PRICE = 8


async def balance_text(chat: Chat) -> str:
    await chat.say("/menu", "UGC Bot")
    return shown(await chat.tap("💰 Balance", "Recent transactions"))


async def test_a_free_preview_arrives_as_a_video_and_the_user_still_pays_after(bot: RunningBot) -> None:
    chat = await bot.chat()
    confirm = await to_confirm(chat)
    assert "Captions: Bold" in shown(confirm)
    assert labels(confirm)[:4] == ["💳 Pay 8 cr. and render", "💬 Captions: on", "🎨 Style: Bold", PREVIEW]

    since = await chat.change()
    window = await chat.tap(PREVIEW, "Rendering your free preview", on=confirm)
    preview = await chat.arrives(PREVIEW_CAPTION, since=since)

    assert "no lip movement, lower quality" in shown(window)
    assert preview["message_id"] > window["message_id"], "the preview comes as a new message"
    assert preview["media"]["kind"] == "video"
    assert preview["buttons"] == [], "a plain video message: the buttons stay on the price screen"
    # The window again, rendered afresh: the balance is untouched by the preview.
    window = await chat.tap("💬 Captions: on", "Captions: off", on=window)
    assert "your balance: 50 cr." in shown(window)
    assert "🎨 Style: Bold" not in labels(window)

    result = await chat.tap(button(window, "💳 Pay"), READY, on=window)
    await bot.jobs_done()

    assert result["media"]["kind"] == "video"
    paid = await bot._in_context(bot.runtime.services.generations.get(1))
    assert paid is not None and paid.captions is False, "the video is made as set: without captions"
    text = await balance_text(chat)
    assert f"Balance: {50 - PRICE} cr." in text
    assert text.count("held for a video") == 1 and text.count("paid for a video") == 1


async def test_a_preview_of_the_style_the_user_cycled_to(bot: RunningBot) -> None:
    chat = await bot.chat()
    confirm = await to_confirm(chat)

    window = await chat.tap("🎨 Style: Bold", "Captions: Clean", on=confirm)
    window = await chat.tap("🎨 Style: Clean", "Captions: Karaoke", on=window)
    since = await chat.change()
    await chat.tap(PREVIEW, "Rendering your free preview", on=window)
    preview = await chat.arrives(PREVIEW_CAPTION, since=since)

    assert preview["media"]["kind"] == "video"
    assert CONFIRM in shown(window)
