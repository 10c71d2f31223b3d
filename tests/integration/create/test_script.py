"""The script (U10) and the take (U11): wrong kinds of input, blank or too long scripts, HTML as text."""

from __future__ import annotations

from tests.integration.create.chat import labels, shown
from tests.integration.create.conftest import RunningBot
from tests.integration.create.media import Media
from tests.integration.create.steps import SCRIPT, TAKE, to_script

EN_LIMIT = 450  # 30 s × 15 characters a second (catalog/pricing.yaml)


async def test_the_window_says_the_limit_and_the_price(bot: RunningBot) -> None:
    chat = await bot.chat()
    window = await to_script(chat)
    assert f"up to {EN_LIMIT} characters (about 30 s of speech)" in shown(window)
    assert "voice-over 3 cr. + 5 cr. for every started 5 s" in shown(window)


async def test_a_photo_a_voice_and_a_sticker_get_asked_for_text(bot: RunningBot, media: Media) -> None:
    chat = await bot.chat()
    await to_script(chat)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64

    reply = await chat.upload(png, kind="photo", file_name="me.png", expect="Please send: a text message.")
    await chat.below(reply, SCRIPT)
    reply = await chat.upload(
        b"OggS" + b"\0" * 200, kind="voice", file_name="me.ogg", expect="Please send: a text"
    )
    before = (await chat.below(reply, SCRIPT))["message_id"]
    await bot.forge_message(
        chat.user_id,
        sticker={
            "file_id": "CAACAgIAAxkBAAFsticker",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )
    replies = [m for m in await chat.messages() if m["from"] == "bot" and m["message_id"] > before]
    assert any("Please send: a text message." in shown(m) for m in replies)
    assert SCRIPT in shown(await chat.window())


async def test_a_blank_script(bot: RunningBot) -> None:
    chat = await bot.chat()
    await to_script(chat)
    await bot.forge_message(chat.user_id, text=" \n\t ")
    window = await chat.window()
    assert "The script is empty" in shown(window) and SCRIPT in shown(window)


async def test_a_script_over_the_limit(bot: RunningBot) -> None:
    chat = await bot.chat()
    await to_script(chat)
    window = await chat.say("a" * (EN_LIMIT + 1), "too long")
    assert f"{EN_LIMIT + 1} characters, the limit is {EN_LIMIT}" in shown(window)
    assert window["media"] is None, "no take was made"


async def test_html_in_the_script_is_shown_as_typed_and_spoken_as_text(bot: RunningBot) -> None:
    chat = await bot.chat()
    await to_script(chat)
    script = '<b>Sale</b> & <a href="x">50% off</a> today'

    take = await chat.say(script, TAKE)
    assert take["media"]["kind"] == "voice" and take["media"]["duration"] >= 1

    window = await chat.tap("📝 Change text", SCRIPT)
    assert f"“{script}”" in shown(window)
    assert "&lt;b&gt;Sale&lt;/b&gt; &amp; &lt;a" in window["html"], "no markup: the tags are plain text"
    assert {"← Back", "✖ Cancel"} <= set(labels(window))


async def test_change_voice_and_regenerate_make_a_new_take(bot: RunningBot) -> None:
    chat = await bot.chat()
    await to_script(chat)
    first = await chat.say("Fresh bread every morning.", TAKE)

    again = await chat.tap("🔄 Regenerate", TAKE)
    assert again["media"]["file_unique_id"] != first["media"]["file_unique_id"]
    voices = await chat.tap("🎙 Change voice", "Listen to the sample")
    other = await chat.tap("▶️", "2 / ", on=voices)
    name = next(b for b in labels(other) if b.startswith("✅ Pick"))
    await chat.tap(name, SCRIPT)
    await chat.say("Fresh bread every morning.", TAKE)
