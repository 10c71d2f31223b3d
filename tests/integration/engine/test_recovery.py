"""Stale buttons and renamed windows never strand a user (U17, E4): answered, then the start window."""

from __future__ import annotations

from aiogram.types import User
from redis.asyncio import Redis

from tests.fakes.hooks import FakeHooks
from tests.integration.engine.conftest import MakeBot

V1 = """
version: 1
start: main.menu
locales: [en]
default_locale: en
commands:
  - {command: start, description: cmd.start, action: register, next: main.menu}
dialogs:
  main:
    windows:
      menu:
        text: t.menu
        keyboard:
          - {text: b.shop, next: shop.list}
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

# v2 renames the window shop.item → shop.product; users who were on it have a saved state "shop:item".
V2 = V1.replace("next: item}", "next: product}").replace("      item:\n", "      product:\n")

TEXTS = {
    "en": {
        "t.menu": "Menu",
        "t.list": "Shop list",
        "t.item": "Shop item",
        "b.shop": "Shop",
        "b.item": "Item",
        "b.close": "Close",
    }
}
EXPIRED = "Expired, opening the menu."


def hooks() -> FakeHooks:
    return FakeHooks().action("register")


async def test_stale_button_after_storage_flush(make_bot: MakeBot, redis: Redis) -> None:
    bot = make_bot(V1, hooks(), texts=TEXTS)
    await bot.send("/start")
    old = bot.last
    await redis.flushdb()
    shown = len(bot.windows)
    await bot.click("Shop", old)
    assert bot.bot.callback_answers[-1] == EXPIRED
    assert bot.text == "Menu"
    assert len(bot.windows) == shown + 1
    await bot.click("Shop")  # the new menu works
    assert bot.text == "Shop list"


async def test_button_of_a_dialog_no_longer_on_top(make_bot: MakeBot) -> None:
    bot = make_bot(V1, hooks(), texts=TEXTS)
    await bot.send("/start")
    menu = bot.last
    await bot.click("Shop")
    await bot.click("Shop", menu)  # the menu's intent is under shop now: OutdatedIntent
    assert bot.bot.callback_answers[-1] == EXPIRED
    assert bot.text == "Menu"
    assert len(await bot.dialog_stack()) == 1


async def test_window_renamed_while_user_is_on_it(make_bot: MakeBot) -> None:
    v1 = make_bot(V1, hooks(), texts=TEXTS)
    await v1.send("/start")
    await v1.click("Shop")
    await v1.click("Item")
    assert v1.text == "Shop item"
    stale = v1.last

    v2 = make_bot(V2, hooks(), texts=TEXTS)  # a new Dispatcher on the same Redis, as after a deploy
    await v2.click("Close", stale)
    assert v2.bot.callback_answers[-1] == EXPIRED
    assert v2.text == "Menu"
    await v2.click("Shop")
    await v2.click("Item")
    assert v2.text == "Shop item"  # the renamed window, reached through the new graph


async def test_start_command_recovers_after_rename_and_keeps_payload(make_bot: MakeBot) -> None:
    v1 = make_bot(V1, hooks(), texts=TEXTS)
    await v1.send("/start")
    await v1.click("Shop")
    await v1.click("Item")

    fake = hooks()
    v2 = make_bot(V2, fake, texts=TEXTS)
    await v2.send("/start ref_7")
    assert v2.text == "Menu"
    assert [ctx.value for ctx in fake.contexts("register")] == ["ref_7"]
    assert len(await v2.dialog_stack()) == 1


async def test_plain_message_recovers_after_rename(make_bot: MakeBot) -> None:
    v1 = make_bot(V1, hooks(), texts=TEXTS)
    await v1.send("/start")
    await v1.click("Shop")
    await v1.click("Item")

    v2 = make_bot(V2, hooks(), texts=TEXTS)
    await v2.send("hi")
    assert v2.text == "Menu"
    await v2.click("Shop")
    assert v2.text == "Shop list"


async def test_recovery_speaks_the_users_language_when_middlewares_miss_the_error(
    make_bot: MakeBot, redis: Redis
) -> None:
    texts = {**TEXTS, "ru": {"t.menu": "Меню", "b.shop": "Магазин"}}
    bot = make_bot(V1, hooks(), texts=texts, locale_on_update=False)
    bot.client.user = User(id=1, is_bot=False, first_name="Аня", language_code="ru")
    bot.locales[1] = "ru"
    await bot.send("/start")
    old = bot.last
    await redis.flushdb()
    await bot.click("Магазин", old)
    assert bot.bot.callback_answers[-1] == "Устарело, открываю меню."
    assert bot.text == "Меню"
