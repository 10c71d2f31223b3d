"""A tap that arrives for a message the dialog has already replaced by a newer one is answered and ignored: it
must not turn the old message into a second copy of the current window (50 taps on Pay as the video lands)."""

from __future__ import annotations

from tests.fakes.hooks import FakeHooks
from tests.integration.engine.conftest import MakeBot
from tests.integration.engine.test_access import FLOWS, TEXTS


async def test_a_tap_on_a_superseded_message_changes_nothing(make_bot: MakeBot) -> None:
    fake = FakeHooks().action("set_name")
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await bot.send("/start")
    old_menu = bot.last
    await bot.click("Name")
    await bot.send("Ann")  # the answer: the menu comes back as a new message under it
    assert bot.text == "Menu" and bot.last.message_id != old_menu.message_id
    shown = len(bot.windows)

    await bot.click("Name", old_menu)  # a tap still in flight on the first menu message

    assert await bot.current_state() == "main:menu", "the dialog did not move"
    assert len(bot.windows) == shown and bot.text == "Menu", "no window was drawn into the old message"
    await bot.click("Name")  # the current message still works
    assert bot.text == "Your name?"
