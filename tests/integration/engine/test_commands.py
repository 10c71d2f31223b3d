"""Commands work in any state, rebuild the stack under their target, and pass the deep-link payload on."""

from __future__ import annotations

from aiogram.types import BotCommand

from tests.fakes.hooks import FakeHooks
from tests.integration.engine.conftest import MakeBot

FLOWS = """
version: 1
start: main.menu
locales: [en, ru]
default_locale: en
commands:
  - {command: start, description: cmd.start, action: register, next: main.menu}
  - {command: help, description: cmd.help, next: main.help}
  - {command: shop, description: cmd.shop, next: shop.item}
  - {command: cancel, description: cmd.cancel, next: "@home"}
  - {command: vip, description: cmd.vip, action: vip, next: shop.list, on: {denied: "@stay"}}
dialogs:
  main:
    windows:
      menu:
        text: t.menu
        keyboard:
          - {text: b.shop, next: shop.list}
          - {text: b.name, next: name}
      help:
        text: t.help
        keyboard:
          - {text: b.back, next: menu}
      name:
        text: t.name
        input: {accept: [text], action: set_name, next: menu}
  shop:
    windows:
      list:
        text: t.list
        keyboard:
          - {text: b.item, next: item}
      item:
        text: t.item
        keyboard:
          - {text: b.close, next: "@done"}
"""

TEXTS = {
    "en": {
        "t.menu": "Menu",
        "t.help": "Help text",
        "t.name": "Your name?",
        "t.list": "Shop list",
        "t.item": "Shop item",
        "b.shop": "Shop",
        "b.name": "Name",
        "b.back": "Back",
        "b.item": "Item",
        "b.close": "Close",
        "cmd.shop": "Shop",
        "cmd.cancel": "Cancel",
        "cmd.vip": "VIP",
    },
    "ru": {"cmd.shop": "Магазин"},
}


def hooks() -> FakeHooks:
    return FakeHooks().action("register").action("set_name").action("vip", outcomes=("ok", "denied"))


async def test_start_payload_reaches_the_action(make_bot: MakeBot) -> None:
    fake = hooks()
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await bot.send("/start ref_42")
    assert bot.text == "Menu"
    await bot.send("/start")
    assert [ctx.value for ctx in fake.contexts("register")] == ["ref_42", None]
    assert len(await bot.dialog_stack()) == 1


async def test_command_into_start_dialog_resets_the_stack(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks(), texts=TEXTS)
    await bot.send("/start")
    await bot.click("Shop")
    await bot.click("Item")
    await bot.send("/help")
    assert bot.text == "Help text"
    assert len(await bot.dialog_stack()) == 1
    await bot.click("Back")
    assert bot.text == "Menu"


async def test_command_into_other_dialog_puts_the_menu_under_it(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks(), texts=TEXTS)
    await bot.send("/help")  # works with no dialog open at all
    assert bot.text == "Help text"
    shown = len(bot.windows)
    await bot.send("/shop")
    assert bot.text == "Shop item"
    assert len(bot.windows) == shown + 1  # one new message, the rebuilt menu under it is not shown
    assert len(await bot.dialog_stack()) == 2
    await bot.click("Close")
    assert bot.text == "Menu"


async def test_commands_win_over_a_text_input(make_bot: MakeBot) -> None:
    fake = hooks()
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await bot.send("/start")
    await bot.click("Name")
    await bot.send("/cancel")
    assert bot.text == "Menu"
    assert fake.contexts("set_name") == []


async def test_command_outcomes_like_buttons(make_bot: MakeBot) -> None:
    fake = hooks()
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await bot.send("/start")
    await bot.click("Name")
    fake.outcomes["vip"] = "denied"
    await bot.send("/vip")  # @stay: the current window again, as a new message
    assert bot.text == "Your name?"
    fake.outcomes["vip"] = None
    await bot.send("/vip")
    assert bot.text == "Shop list"


async def test_message_without_any_dialog_acts_as_start(make_bot: MakeBot) -> None:
    fake = hooks()
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await bot.send("hello")
    assert bot.text == "Menu"
    assert [ctx.value for ctx in fake.contexts("register")] == [None]


async def test_bot_commands_are_described_per_locale(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks(), texts=TEXTS)
    ru = bot.compiled.bot_commands("ru")
    assert ru[0] == BotCommand(command="start", description="Старт")
    assert BotCommand(command="shop", description="Магазин") in ru
    assert BotCommand(command="cancel", description="Cancel") in ru  # missing in ru → default locale
