"""The look edit (U8): charged per edit, refused ones refunded, a limit per video, too few credits said."""

from __future__ import annotations

from tests.integration.create.chat import labels, shown
from tests.integration.create.conftest import BotStarter, RunningBot
from tests.integration.create.steps import LOOK, VOICES, to_look

PROMPT = "Describe the change"
EDIT = "✏️ Edit the look (2 cr.)"


async def test_an_edit_is_charged_shown_and_can_be_undone(bot: RunningBot) -> None:
    chat = await bot.chat()
    original = await to_look(chat)
    ask = await chat.tap(EDIT, PROMPT)
    assert "Edit 1 of 3 — 2 cr. Your balance: 50 cr." in shown(ask)

    result = await chat.say("warm tones and a blue background", "The new look")

    assert result["media"]["kind"] == "photo"
    assert result["media"]["file_unique_id"] != original["media"]["file_unique_id"]
    assert "Done locally" in shown(result)
    assert {"✅ Use this", "✏️ Edit further", "↩️ Back to original"} <= set(labels(result))
    again = await chat.tap("✏️ Edit further", PROMPT)
    assert "Edit 2 of 3 — 2 cr. Your balance: 48 cr." in shown(again)
    await chat.tap("← Back", LOOK)
    back = await chat.tap("↩️ Back to original", LOOK)
    assert back["media"]["file_unique_id"] == original["media"]["file_unique_id"]
    await chat.tap("Keep this look →", VOICES)


async def test_a_2000_character_prompt_is_refused_before_anything_is_charged(bot: RunningBot) -> None:
    chat = await bot.chat()
    await to_look(chat)
    await chat.tap(EDIT, PROMPT)

    reply = await chat.say("warmer, " * 249 + "brighter", "Too long")

    assert "at most 500 characters (now 2000)" in shown(reply)
    window = await chat.below(reply, PROMPT)
    assert "Edit 1 of 3 — 2 cr. Your balance: 50 cr." in shown(window)


async def test_an_edit_the_local_editor_cannot_do_is_refunded(bot: RunningBot) -> None:
    chat = await bot.chat()
    await to_look(chat)
    await chat.tap(EDIT, PROMPT)

    window = await chat.say("give her a cowboy hat", "can't do that")

    assert "The 2 cr. went back to your balance" in shown(window)
    assert "Edit 1 of 3 — 2 cr. Your balance: 50 cr." in shown(window)


async def test_the_edit_limit_is_reached_and_said(bot: RunningBot) -> None:
    chat = await bot.chat()
    await to_look(chat)
    await chat.tap(EDIT, PROMPT)
    for prompt in ("warmer", "brighter", "cooler"):
        result = await chat.say(prompt, "The new look")
        if prompt != "cooler":
            await chat.tap("✏️ Edit further", PROMPT)

    assert "You have used all 3 edits for this video" in shown(result)
    assert "✏️ Edit further" not in labels(result)
    await chat.tap("✅ Use this", VOICES)


async def test_too_few_credits_for_an_edit(start_bot: BotStarter) -> None:
    bot = await start_bot(WELCOME_BONUS="1")
    chat = await bot.chat()
    await to_look(chat)
    await chat.tap(EDIT, PROMPT)

    window = await chat.say("warmer", "Not enough credits")

    assert "it costs 2 cr., your balance is 1 cr." in shown(window)
