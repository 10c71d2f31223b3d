"""Buttons of every kind and target kind, action outcomes, `when` conditions and locales."""

from __future__ import annotations

from typing import Any

from tests.fakes.hooks import FakeHooks
from tests.integration.engine.conftest import MakeBot

FLOWS = """
version: 1
start: main.menu
locales: [en, ru]
default_locale: en
commands:
  - {command: start, description: cmd.start, next: main.menu}
dialogs:
  main:
    getter: summary
    windows:
      menu:
        text: [t.menu, {key: t.vip, when: vip}, {key: t.novip, when: "!vip"}]
        keyboard:
          - [{text: b.info, next: info}, {text: b.shop, next: shop.list}]
          - {text: b.site, url: "https://example.com/u/{uid}"}
          - {text: b.secret, next: info, when: profile.admin}
          - {text: b.buy, id: buy, action: buy, args: {sku: tea}, next: shop.item, on: {poor: info}}
          - {text: b.noop, action: noop}
      info:
        text: t.info
        keyboard:
          - {text: b.back, next: "@back"}
          - {text: b.done, next: "@done"}
  shop:
    windows:
      list:
        text: t.shop
        keyboard:
          - {text: b.item, next: item}
          - {text: b.close, next: "@done"}
      item:
        text: t.item
        keyboard:
          - {text: b.back, next: "@back"}
          - {text: b.home, next: "@home"}
          - {text: b.info, next: main.info}
"""

TEXTS = {
    "en": {
        "t.menu": "Menu for {name}",
        "t.vip": "You are VIP",
        "t.novip": "Upgrade to VIP",
        "t.info": "Info page",
        "t.shop": "Shop list",
        "t.item": "Shop item",
        "b.info": "Info",
        "b.shop": "Shop",
        "b.site": "Site",
        "b.secret": "Admin",
        "b.buy": "Buy",
        "b.noop": "Refresh",
        "b.back": "Back",
        "b.done": "Done",
        "b.item": "Item",
        "b.close": "Close",
        "b.home": "Home",
    },
    "ru": {"t.menu": "Меню для {name}", "t.novip": "Купите VIP", "b.info": "Инфо", "b.shop": "Магазин"},
}


def hooks(state: dict[str, Any]) -> FakeHooks:
    return (
        FakeHooks()
        .getter("summary", lambda ctx: {"name": "Ann", "uid": 42, **state})
        .action("buy", outcomes=("ok", "poor"))
        .action("noop")
    )


async def test_start_shows_menu_with_getter_data_and_conditional_lines(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks({"vip": False}), texts=TEXTS)
    await bot.send("/start")
    assert bot.text == "Menu for Ann\nUpgrade to VIP"
    assert bot.buttons == [["Info", "Shop"], ["Site"], ["Buy"], ["Refresh"]]


async def test_when_conditions_follow_getter_data_including_dotted_paths(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks({"vip": True, "profile": {"admin": True}}), texts=TEXTS)
    await bot.send("/start")
    assert bot.text == "Menu for Ann\nYou are VIP"
    assert "Admin" in bot.flat_buttons


async def test_url_button_formats_its_url_with_getter_data(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks({}), texts=TEXTS)
    await bot.send("/start")
    markup = bot.last.reply_markup
    assert markup is not None
    urls = [b.url for row in markup.inline_keyboard for b in row if b.url]
    assert urls == ["https://example.com/u/42"]


async def test_switch_back_and_done_in_start_dialog(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks({}), texts=TEXTS)
    await bot.send("/start")
    await bot.click("Info")
    assert bot.text == "Info page"
    await bot.click("Back")
    assert bot.text.startswith("Menu for Ann")
    await bot.click("Info")
    # @done in the start dialog would close the last dialog and leave no buttons: it means @home there.
    await bot.click("Done")
    assert bot.text.startswith("Menu for Ann")
    assert bot.buttons


async def test_other_dialog_starts_on_top_and_done_returns(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks({}), texts=TEXTS)
    await bot.send("/start")
    await bot.click("Shop")
    assert bot.text == "Shop list"
    await bot.click("Close")
    assert bot.text.startswith("Menu for Ann")


async def test_home_resets_the_stack(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks({}), texts=TEXTS)
    await bot.send("/start")
    await bot.click("Shop")
    await bot.click("Item")
    await bot.click("Info")  # main.info started on top of shop
    assert bot.text == "Info page"
    await bot.click("Back")  # @back inside that main dialog instance
    assert bot.text.startswith("Menu for Ann")
    await bot.click("Shop")
    await bot.click("Item")
    await bot.click("Home")
    assert bot.text.startswith("Menu for Ann")
    stack = await bot.dialog_stack()
    assert len(stack) == 1


async def test_action_outcomes_pick_the_declared_target(make_bot: MakeBot) -> None:
    fake = hooks({})
    bot = make_bot(FLOWS, fake, texts=TEXTS, services="svc")
    await bot.send("/start")
    await bot.click("Buy")
    assert bot.text == "Shop item"  # None → "ok" → next
    ctx = fake.contexts("buy")[0]
    assert ctx.args == {"sku": "tea"}
    assert ctx.services == "svc"
    assert ctx.locale == "en"
    assert ctx.user is not None and ctx.user.id == 1

    await bot.click("Home")
    fake.outcomes["buy"] = "poor"
    await bot.click("Buy")
    assert bot.text == "Info page"


async def test_unmapped_outcome_stays_and_rerenders(make_bot: MakeBot) -> None:
    state: dict[str, Any] = {"vip": False}
    fake = hooks(state).action("vip_on", effect=lambda ctx: state.update(vip=True))
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await bot.send("/start")
    fake.outcomes["buy"] = "declined"  # declared nowhere → stay
    await bot.click("Buy")
    assert bot.text == "Menu for Ann\nUpgrade to VIP"
    state["vip"] = True
    await bot.click("Refresh")  # action with no target: stays, window re-rendered with fresh data
    assert bot.text == "Menu for Ann\nYou are VIP"
    assert len(fake.contexts("noop")) == 1


async def test_locale_from_middleware_data_with_fallback_to_default(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks({}), texts=TEXTS)
    bot.locales[1] = "ru"
    await bot.send("/start")
    assert bot.text == "Меню для Ann\nКупите VIP"
    assert bot.buttons[0] == ["Инфо", "Магазин"]
    assert bot.buttons[2] == ["Buy"]  # missing in ru → the default locale's text
    bot.locales[1] = "en"
    await bot.click("Инфо", bot.last)
    await bot.click("Back")
    assert bot.text == "Menu for Ann\nUpgrade to VIP"


GETTERS = """
version: 1
start: main.menu
locales: [en]
default_locale: en
dialogs:
  main:
    getter: summary
    windows:
      menu:
        text: t.who
        getter: menu
        keyboard:
          - {text: b.info, next: info}
      info:
        text: t.who
"""


async def test_window_getter_wins_over_dialog_getter(make_bot: MakeBot) -> None:
    fake = FakeHooks().getter("summary", {"name": "dialog", "uid": 1}).getter("menu", {"name": "window"})
    bot = make_bot(GETTERS, fake, texts={"en": {"t.who": "{name} #{uid}", "b.info": "Info"}})
    await bot.send("hi")  # no /start declared: any first message opens the start window
    assert bot.text == "window #1"
    await bot.click("Info")
    assert bot.text == "dialog #1"
