"""The control API: acting as users, clicking, waiting without sleeps, the call log, faults and reset."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from tests.support.localtg import ControlClient, ControlError


def menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="FAQ", callback_data="faq")],
            [InlineKeyboardButton(text="Site", url="https://example.com/")],
        ]
    )


async def test_creating_a_user_twice_updates_their_names(tg: ControlClient) -> None:
    created = await tg.request("POST", "/control/users", json={"id": 5, "first_name": "Ann"})
    renamed = await tg.create_user(5, "Anna", username="anna")

    assert created == {"id": 5, "first_name": "Ann", "username": None, "language_code": None}
    assert renamed["first_name"] == "Anna" and renamed["username"] == "anna"
    assert [u["id"] for u in await tg.request("GET", "/control/users")] == [5]


async def test_bad_control_input_says_what_is_wrong(tg: ControlClient) -> None:
    with pytest.raises(ControlError, match="first_name"):
        await tg.request("POST", "/control/users", json={"id": 5})
    with pytest.raises(ControlError, match="no user 9"):
        await tg.send(9, "hi")
    await tg.create_user(9, "Bo")
    with pytest.raises(ControlError, match="exactly one of button"):
        await tg.request("POST", "/control/users/9/click", json={"message_id": 1})


async def test_clicking_by_text_or_data_sends_a_callback_query(
    bot: Bot, tg: ControlClient, user: int
) -> None:
    sent = await bot.send_message(user, "Menu", reply_markup=menu())

    by_text = await tg.click(user, sent.message_id, button="FAQ")
    by_data = await tg.click(user, sent.message_id, callback_data="faq")

    queries = [u.callback_query for u in await bot.get_updates() if u.callback_query]
    assert [q.id for q in queries] == [by_text["callback_query_id"], by_data["callback_query_id"]]
    assert queries[0].data == "faq" and queries[0].from_user.id == user
    assert queries[0].message is not None and queries[0].message.message_id == sent.message_id
    assert await tg.click(user, sent.message_id, button="Site") == {
        "url": "https://example.com/",
        "callback_query_id": None,
    }


async def test_clicking_a_button_that_no_longer_exists_fails(bot: Bot, tg: ControlClient, user: int) -> None:
    sent = await bot.send_message(user, "Menu", reply_markup=menu())
    await bot.edit_message_text("FAQ answers", chat_id=user, message_id=sent.message_id)

    with pytest.raises(ControlError, match="no button 'FAQ' in message"):
        await tg.click(user, sent.message_id, button="FAQ")
    await bot.delete_message(user, sent.message_id)
    with pytest.raises(ControlError, match="was deleted"):
        await tg.click(user, sent.message_id, button="FAQ")
    with pytest.raises(ControlError, match="sent by the user"):
        await tg.click(user, 1, button="FAQ")


async def test_wait_returns_when_the_bot_acts_and_reports_a_timeout_otherwise(
    bot: Bot, tg: ControlClient, user: int
) -> None:
    sent = await tg.send(user, "hi")
    quiet = await tg.request(
        "GET", f"/control/users/{user}/wait", params={"since": sent["change"], "timeout": 0.2}
    )
    assert quiet["timed_out"] and quiet["changes"] == []

    waiting = asyncio.create_task(tg.wait(user, sent["change"]))
    await bot.send_message(user, "hello!")
    result = await asyncio.wait_for(waiting, 5)

    assert [(c["kind"], c["by"]) for c in result["changes"]] == [("message", "bot")]


async def test_callback_answers_can_be_waited_for(bot: Bot, tg: ControlClient, user: int) -> None:
    sent = await bot.send_message(user, "Menu", reply_markup=menu())
    clicked = await tg.click(user, sent.message_id, button="FAQ")

    await bot.answer_callback_query(clicked["callback_query_id"], text="Loading")
    result = await tg.wait(user, clicked["change"], kinds="callback_answer")

    assert result["changes"][0]["text"] == "Loading"


async def test_the_call_log_records_every_bot_api_call(bot: Bot, tg: ControlClient, user: int) -> None:
    await bot.send_message(user, "one")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(user + 1000, "nobody")
    await tg.fault("sendMessage", "error", status=403, description="Forbidden: bot was blocked by the user")
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(user, "two")

    calls = await tg.calls("sendMessage")

    assert [(c["chat_id"], c["status"], c["fault"]) for c in calls] == [
        (user, 200, None),
        (user + 1000, 400, None),
        (user, 403, "error"),
    ]
    assert calls[0]["request_bytes"] > 0 and calls[1]["error"] == "Bad Request: chat not found"


async def test_injected_429_and_5xx_reach_aiogram_as_its_own_exceptions(
    bot: Bot, tg: ControlClient, user: int
) -> None:
    await tg.fault("sendMessage", "429", retry_after=7)
    await tg.fault("*", "5xx", status=502)

    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(user, "hi")
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.get_me()

    assert flood.value.retry_after == 7
    assert (await bot.send_message(user, "after the storm")).text == "after the storm"


async def test_injected_latency_delays_the_next_call(bot: Bot, tg: ControlClient, user: int) -> None:
    await tg.fault("sendChatAction", "latency", latency=0.3, count=1)

    started = time.monotonic()
    await bot.send_chat_action(user, "typing")
    slow = time.monotonic() - started
    await bot.send_chat_action(user, "typing")

    assert slow >= 0.3
    assert [c["fault"] for c in await tg.calls("sendChatAction")] == ["latency", None]


async def test_reset_forgets_everything_but_keeps_counting(tg: ControlClient, user: int) -> None:
    before = await tg.send(user, "one")

    await tg.reset()

    assert await tg.request("GET", "/control/users") == []
    await tg.create_user(user, "Ann")
    after = await tg.send(user, "two")
    assert after["change"] > before["change"] and after["update_id"] > before["update_id"]
    assert after["message_id"] == 1


async def test_user_uploads_are_checked_and_their_kind_guessed(tg: ControlClient, user: int) -> None:
    with pytest.raises(ControlError, match="kind must be one of"):
        await tg.upload(user, b"data", kind="hologram", file_name="x.bin")
    with pytest.raises(ControlError, match="empty"):
        await tg.upload(user, b"", kind="document", file_name="x.bin")

    form = aiohttp.FormData()
    form.add_field("file", b"%PDF-1.4", filename="offer.pdf", content_type="application/pdf")
    sent = await tg.request("POST", f"/control/users/{user}/upload", data=form)

    shown = (await tg.visible(user))[-1]
    assert shown["message_id"] == sent["message_id"]
    assert (shown["media"]["kind"], shown["media"]["file_name"]) == ("document", "offer.pdf")
    async with aiohttp.ClientSession() as http, http.get(shown["media"]["url"]) as resp:
        assert await resp.read() == b"%PDF-1.4"
