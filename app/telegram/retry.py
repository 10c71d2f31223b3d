"""Outbound Bot API retries: wait out 429s for any method; retry 5xx and network errors only where safe."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientConnectorError

from app.logs import get_logger

if TYPE_CHECKING:
    from aiogram import Bot

log = get_logger(__name__)

# Repeating these cannot duplicate what the user sees: reads, edits to fixed content, deletions, settings.
# sendMessage/sendPhoto/… are missing on purpose: a 5xx or a dropped connection may follow a delivery.
IDEMPOTENT_METHODS = frozenset(
    {
        "getUpdates",
        "getMe",
        "getFile",
        "getChat",
        "getChatMember",
        "getWebhookInfo",
        "answerCallbackQuery",
        "answerPreCheckoutQuery",
        "editMessageText",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageReplyMarkup",
        "deleteMessage",
        "deleteMessages",
        "setMyCommands",
        "deleteMyCommands",
        "setWebhook",
        "deleteWebhook",
        "sendChatAction",
    }
)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: ``max_attempts`` calls in all, sleeping ``max_total_wait`` seconds at most."""

    max_attempts: int = 3
    max_total_wait: float = 30.0
    base_delay: float = 0.5
    max_delay: float = 5.0

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based) after a 5xx or a network error, with jitter."""
        delay: float = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return delay * random.uniform(0.8, 1.2)


def is_idempotent(method_name: str) -> bool:
    return method_name in IDEMPOTENT_METHODS


def _never_sent(error: TelegramNetworkError) -> bool:
    """True when the connection was never made, so Telegram cannot have received the request."""
    return isinstance(error.__cause__, ClientConnectorError)


class RetryMiddleware(BaseRequestMiddleware):
    """Session middleware that hides transient Bot API failures: ``session.middleware(RetryMiddleware())``."""

    def __init__(self, policy: RetryPolicy | None = None, *, sleep: Sleep = asyncio.sleep) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        waited = 0.0
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                # Telegram refused before doing anything, so any method may be repeated.
                error: Exception = exc
                delay = float(exc.retry_after)
            except TelegramEntityTooLarge:
                raise
            except (TelegramServerError, TelegramNetworkError) as exc:
                safe = is_idempotent(name) or (isinstance(exc, TelegramNetworkError) and _never_sent(exc))
                if not safe:
                    raise
                error = exc
                delay = self.policy.backoff(attempt)
            if attempt >= self.policy.max_attempts or waited + delay > self.policy.max_total_wait:
                raise error
            log.warning(
                "telegram: retrying",
                method=name,
                reason=_describe(error),
                retry=attempt,
                of=self.policy.max_attempts - 1,
                wait_seconds=round(delay, 2),
            )
            await self._sleep(delay)
            waited += delay
            attempt += 1


def _describe(error: Exception) -> str:
    if isinstance(error, TelegramRetryAfter):
        return f"429 flood control, retry after {error.retry_after}s"
    return f"{type(error).__name__}: {error}"
