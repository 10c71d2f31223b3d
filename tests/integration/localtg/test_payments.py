"""Stars payments: invoice → pre_checkout_query → the bot's answer → successful_payment, refunds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LabeledPrice, Message, PreCheckoutQuery

from app.localtg import Settings
from tests.support.localtg import ControlClient, ControlError, RunningServer


async def invoice(bot: Bot, user: int, stars: int = 50) -> Message:
    return await bot.send_invoice(
        user,
        title="50 credits",
        description="Credits for five videos",
        payload="pack:50",
        currency="XTR",
        prices=[LabeledPrice(label="50 credits", amount=stars)],
    )


async def next_pre_checkout(bot: Bot, offset: int | None = None) -> PreCheckoutQuery:
    for _ in range(50):
        for update in await bot.get_updates(offset=offset, timeout=5):
            offset = update.update_id + 1
            if update.pre_checkout_query is not None:
                return update.pre_checkout_query
    raise AssertionError("no pre_checkout_query arrived")


async def test_a_paid_invoice_ends_in_successful_payment_and_can_be_refunded_once(
    bot: Bot, tg: ControlClient, user: int
) -> None:
    sent = await invoice(bot, user)
    shown = await tg.last_bot_message(user)
    assert shown["invoice"]["total_amount"] == 50 and shown["buttons"][0][0]["pay"] is True

    paying = asyncio.create_task(tg.click(user, sent.message_id, button=shown["buttons"][0][0]["text"]))
    query = await next_pre_checkout(bot)
    assert (query.currency, query.total_amount, query.invoice_payload) == ("XTR", 50, "pack:50")
    await bot.answer_pre_checkout_query(query.id, ok=True)
    result: dict[str, Any] = await asyncio.wait_for(paying, 5)

    assert result["status"] == "paid"
    updates = await bot.get_updates()
    payment = next(
        u.message.successful_payment for u in updates if u.message and u.message.successful_payment
    )
    assert payment.telegram_payment_charge_id == result["telegram_payment_charge_id"]
    assert payment.invoice_payload == "pack:50"
    with pytest.raises(ControlError, match="already paid"):
        await tg.pay(user, sent.message_id)
    assert await bot.refund_star_payment(user, payment.telegram_payment_charge_id)
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(user, payment.telegram_payment_charge_id)


async def test_a_declined_checkout_tells_the_user_why(bot: Bot, tg: ControlClient, user: int) -> None:
    sent = await invoice(bot, user)

    paying = asyncio.create_task(tg.pay(user, sent.message_id))
    query = await next_pre_checkout(bot)
    await bot.answer_pre_checkout_query(query.id, ok=False, error_message="Sold out")

    assert await asyncio.wait_for(paying, 5) == {"status": "declined", "error_message": "Sold out"}
    assert not (await tg.last_bot_message(user))["paid"]


@pytest.mark.parametrize("settings", [Settings(pre_checkout_timeout=0.3)])
async def test_an_unanswered_checkout_times_out_and_a_late_answer_is_refused(
    bot: Bot, tg: ControlClient, server: RunningServer, user: int
) -> None:
    sent = await invoice(bot, user)
    await bot.get_updates(allowed_updates=["message"])  # the bot forgot to ask for pre_checkout_query

    result = await tg.pay(user, sent.message_id)

    assert result["status"] == "timeout"
    assert "pre_checkout_query is not in the bot's allowed_updates" in result["error"]
    query_id = next(iter(server.server.state.pre_checkouts))
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_pre_checkout_query(query_id, ok=True)


async def test_stars_invoices_follow_the_stars_rules(bot: Bot, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match="PAYMENT_PROVIDER_INVALID"):
        await bot.send_invoice(
            user,
            "t",
            "d",
            "p",
            currency="XTR",
            prices=[LabeledPrice(label="x", amount=1)],
            provider_token="tok",
        )
    with pytest.raises(TelegramBadRequest, match="CURRENCY_TOTAL_AMOUNT_INVALID"):
        await bot.send_invoice(
            user,
            "t",
            "d",
            "p",
            currency="XTR",
            prices=[LabeledPrice(label="a", amount=1), LabeledPrice(label="b", amount=1)],
        )
