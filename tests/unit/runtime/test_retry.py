"""Retry rules: 429 waits for any method; 5xx and network errors retry only where repeats are harmless."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageText, GetMe, SendMessage, TelegramMethod
from aiohttp import ClientConnectorError
from aiohttp.client_reqrep import ConnectionKey

from app.telegram.retry import IDEMPOTENT_METHODS, RetryMiddleware, RetryPolicy

SEND = SendMessage(chat_id=1, text="hi")
EDIT = EditMessageText(chat_id=1, message_id=2, text="hi")
GET_ME = GetMe()

Failure = Callable[[TelegramMethod[Any]], Exception]


def flood(seconds: int) -> Failure:
    return lambda m: TelegramRetryAfter(method=m, message="Too Many Requests", retry_after=seconds)


def bad_gateway(m: TelegramMethod[Any]) -> Exception:
    return TelegramServerError(method=m, message="Bad Gateway")


def timed_out(m: TelegramMethod[Any]) -> Exception:
    return TelegramNetworkError(method=m, message="Request timeout error")


def refused(m: TelegramMethod[Any]) -> Exception:
    key = ConnectionKey("127.0.0.1", 1, False, True, None, None, None)
    error = TelegramNetworkError(method=m, message="ClientConnectorError")
    error.__cause__ = ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))
    return error


class FakeApi:
    """``make_request`` for the middleware: fails as scripted, then answers "ok"."""

    def __init__(self, *failures: Failure) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)(method)
        return "ok"


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


BOT = Bot("42:TEST")


async def call(
    method: TelegramMethod[Any], api: FakeApi, sleeps: Sleeps, policy: RetryPolicy | None = None
) -> Any:
    middleware = RetryMiddleware(policy or RetryPolicy(base_delay=0.1), sleep=sleeps)
    return await middleware(api, BOT, method)


async def test_429_waits_retry_after_then_sends_even_a_message() -> None:
    api, sleeps = FakeApi(flood(2), flood(1)), Sleeps()
    assert await call(SEND, api, sleeps) == "ok"
    assert api.calls == 3 and sleeps == [2.0, 1.0]


async def test_429_longer_than_the_wait_budget_is_raised_at_once() -> None:
    api, sleeps = FakeApi(flood(120)), Sleeps()
    with pytest.raises(TelegramRetryAfter):
        await call(SEND, api, sleeps, RetryPolicy(max_total_wait=30))
    assert api.calls == 1 and sleeps == []


async def test_total_wait_is_bounded_across_retries() -> None:
    api, sleeps = FakeApi(flood(20), flood(20)), Sleeps()
    with pytest.raises(TelegramRetryAfter):
        await call(SEND, api, sleeps, RetryPolicy(max_attempts=5, max_total_wait=30))
    assert sleeps == [20.0]


async def test_5xx_is_not_retried_for_send_message_since_it_may_have_been_delivered() -> None:
    api, sleeps = FakeApi(bad_gateway), Sleeps()
    with pytest.raises(TelegramServerError):
        await call(SEND, api, sleeps)
    assert api.calls == 1


async def test_timeout_is_not_retried_for_send_message() -> None:
    api, sleeps = FakeApi(timed_out), Sleeps()
    with pytest.raises(TelegramNetworkError):
        await call(SEND, api, sleeps)
    assert api.calls == 1


async def test_refused_connection_is_retried_even_for_send_message_since_nothing_was_sent() -> None:
    api, sleeps = FakeApi(refused), Sleeps()
    assert await call(SEND, api, sleeps) == "ok"
    assert api.calls == 2


@pytest.mark.parametrize("failure", [bad_gateway, timed_out])
async def test_idempotent_methods_retry_5xx_and_network_errors_with_growing_backoff(failure: Failure) -> None:
    api, sleeps = FakeApi(failure, failure), Sleeps()
    assert await call(EDIT, api, sleeps) == "ok"
    assert api.calls == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] > 0


async def test_attempts_are_bounded() -> None:
    api, sleeps = FakeApi(*[bad_gateway] * 10), Sleeps()
    with pytest.raises(TelegramServerError):
        await call(GET_ME, api, sleeps, RetryPolicy(max_attempts=3, base_delay=0.01))
    assert api.calls == 3


@pytest.mark.parametrize(
    "failure",
    [
        lambda m: TelegramBadRequest(method=m, message="Bad Request: message is not modified"),
        lambda m: TelegramEntityTooLarge(method=m, message="Request Entity Too Large"),
    ],
)
async def test_client_errors_are_never_retried(failure: Failure) -> None:
    api, sleeps = FakeApi(failure), Sleeps()
    with pytest.raises(type(failure(EDIT))):
        await call(EDIT, api, sleeps)
    assert api.calls == 1


def test_sending_methods_are_not_on_the_idempotent_list() -> None:
    for name in ("sendMessage", "sendPhoto", "sendVideo", "sendDocument", "copyMessage", "forwardMessage"):
        assert name not in IDEMPOTENT_METHODS
    for name in (
        "getUpdates",
        "getMe",
        "answerCallbackQuery",
        "editMessageText",
        "deleteMessage",
        "setMyCommands",
    ):
        assert name in IDEMPOTENT_METHODS


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0)
    assert policy.backoff(1) <= 1.2 and 1.6 <= policy.backoff(2) <= 2.4
    assert policy.backoff(10) <= 4.0 * 1.2
