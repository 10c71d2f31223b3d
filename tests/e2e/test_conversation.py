"""The real bot process over the local Telegram stand-in, driven only through its control API (polling)."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.e2e.conftest import BotStarter
from tests.support.localtg import ControlClient

pytestmark = pytest.mark.e2e
USER = 7001


def labels(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["buttons"] for b in row]


async def click(tg: ControlClient, message: dict[str, Any], button: str, expect: str) -> dict[str, Any]:
    """Tap a button; return the bot's last visible message once it shows ``expect``."""
    pressed = await tg.click(USER, message["message_id"], button=button)
    return await tg.wait_for_bot_text(USER, expect, since=pressed["change"])


async def say(tg: ControlClient, text: str, expect: str) -> dict[str, Any]:
    """Send text; return the first bot message sent after it that shows ``expect``."""
    sent = await tg.send(USER, text)

    def reply(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
        after = [m for m in messages if m["from"] == "bot" and m["message_id"] > sent["message_id"]]
        return next((m for m in after if expect in (m["text"] or "")), None)

    return await tg.wait_for(USER, reply, since=sent["change"])


async def test_start_menu_faq_profile_and_language_switch(start_bot: BotStarter, tg: ControlClient) -> None:
    start_bot()
    await tg.create_user(USER, "Анна", language_code="ru")

    menu = await say(tg, "/start", "Выберите, что сделать")
    assert "Анна" in menu["text"] and "Баланс: 50" in menu["text"]
    assert "❓ FAQ" in labels(menu) and "🌐 Язык" in labels(menu)

    faq = await click(tg, menu, "❓ FAQ", "Частые вопросы")
    answer = await click(tg, faq, "Что такое кредиты?", "Кредиты — внутренняя валюта")
    menu = await click(tg, answer, "🏠 В меню", "Выберите, что сделать")

    profile = await click(tg, menu, "👤 Профиль", "Профиль")
    assert f"ID: {USER}" in profile["text"] and "Баланс: 50" in profile["text"]
    assert "Язык: Русский" in profile["text"]

    languages = await click(tg, profile, "🌐 Язык", "Выберите язык")
    english = await click(tg, languages, "🇬🇧 English", "Language: English")  # back on the profile
    assert "Member since" in english["text"]
    menu = await click(tg, english, "← Back", "What would you like to do?")
    assert "Balance: 50 cr." in menu["text"] and "👤 Profile" in labels(menu)


async def test_a_second_start_gives_no_second_welcome_bonus(start_bot: BotStarter, tg: ControlClient) -> None:
    start_bot()
    await tg.create_user(USER, "Bob", language_code="en")
    first = await say(tg, "/start", "What would you like to do?")
    assert "Balance: 50 cr." in first["text"]

    again = await say(tg, "/start", "What would you like to do?")
    assert again["message_id"] != first["message_id"]
    assert "Balance: 50 cr." in again["text"]
    balance = await click(tg, again, "💰 Balance", "Recent transactions")
    assert balance["text"].count("welcome bonus") == 1


async def test_text_where_a_button_is_expected_gets_a_hint_and_the_menu_again(
    start_bot: BotStarter, tg: ControlClient
) -> None:
    start_bot()
    await tg.create_user(USER, "Bob", language_code="en")
    await say(tg, "/start", "What would you like to do?")

    hint = await say(tg, "hello?", "tap on a button")
    assert hint["buttons"] == []
    menu = await tg.last_bot_message(USER)
    if menu["message_id"] == hint["message_id"]:
        menu = await tg.wait_for_bot_text(USER, "What would you like to do?")
    assert menu["message_id"] > hint["message_id"], "the window is shown again under the hint"
    assert "❓ FAQ" in labels(menu)


async def test_dialog_state_survives_a_bot_restart(start_bot: BotStarter, tg: ControlClient) -> None:
    bot = start_bot()
    await tg.create_user(USER, "Bob", language_code="en")
    menu = await say(tg, "/start", "What would you like to do?")
    faq = await click(tg, menu, "❓ FAQ", "Pick one")
    assert bot.stop() == 0, f"graceful shutdown exits 0:\n{bot.output()}"

    start_bot()
    answer = await click(tg, faq, "What are credits?", "Credits are the bot's currency")
    assert answer["message_id"] == faq["message_id"], "the same message is edited in place"


async def test_a_button_from_before_a_restart_that_lost_state_brings_the_user_to_the_menu(
    start_bot: BotStarter, tg: ControlClient, redis_url: str
) -> None:
    bot = start_bot()
    await tg.create_user(USER, "Bob", language_code="ru")
    menu = await say(tg, "/start", "Выберите, что сделать")
    languages = await click(tg, menu, "🌐 Язык", "Выберите язык")
    menu = await click(tg, languages, "🇬🇧 English", "What would you like to do?")
    faq = await click(tg, menu, "❓ FAQ", "Pick one")
    bot.stop()
    client = Redis.from_url(redis_url)
    await client.flushdb()  # dialog contexts lost, as after a Redis wipe
    await client.aclose()

    start_bot()
    before = (await tg.request("GET", "/control/state"))["change"]
    pressed = await tg.click(USER, faq["message_id"], button="What are credits?")
    menu = await tg.wait_for_bot_text(USER, "What would you like to do?", since=before)
    assert "❓ FAQ" in labels(menu) and menu["message_id"] != faq["message_id"]
    answer = await tg.callback(pressed["callback_query_id"])
    assert "out of date" in (answer.get("answer") or {}).get("text", ""), answer


async def test_the_bot_waits_out_a_429_and_still_answers(start_bot: BotStarter, tg: ControlClient) -> None:
    start_bot()
    await tg.create_user(USER, "Bob", language_code="en")
    await tg.fault("sendMessage", "429", retry_after=1, count=1)

    menu = await say(tg, "/start", "What would you like to do?")

    assert "Balance: 50 cr." in menu["text"]
    sends = await tg.calls("sendMessage")
    assert [c.get("status") for c in sends][-2:] == [429, 200], sends
