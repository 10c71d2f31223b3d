"""Update middlewares: log context per update, and the user row, locale and services for every user event."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User

from app.logs import get_logger
from dialogs.registry import LOCALE_KEY, SERVICES_KEY

log = get_logger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UserRecord(Protocol):
    """What the middleware needs to know about a stored user."""

    @property
    def locale(self) -> str: ...

    @property
    def is_banned(self) -> bool: ...


class UserDirectory(Protocol):
    async def ensure_user(self, tg_user: User) -> UserRecord: ...


class HasUsers(Protocol):
    @property
    def users(self) -> UserDirectory: ...


class UserLookup(Protocol):
    async def get(self, user_id: int) -> UserRecord | None: ...


class HasUserLookup(Protocol):
    @property
    def users(self) -> UserLookup: ...


class LogContextMiddleware(BaseMiddleware):
    """Outer ``update`` middleware: log lines written while an update is handled name it and its user."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        update_id = event.update_id if isinstance(event, Update) else None
        with structlog.contextvars.bound_contextvars(update_id=update_id, user_id=user.id if user else None):
            return await handler(event, data)


class Refusal(Protocol):
    """How a banned user is told, at most once a minute, that nothing will happen."""

    async def __call__(self, event: TelegramObject, user_id: int, locale: str) -> None: ...


class UserContextMiddleware(BaseMiddleware):
    """Outer middleware for user events: stores the user, refuses banned ones, adds locale and services."""

    def __init__(self, services: HasUsers, refuse: Refusal | None = None) -> None:
        self._services = services
        self._refuse = refuse

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User | None = data.get("event_from_user")
        data[SERVICES_KEY] = self._services
        if tg_user is None:
            return await handler(event, data)
        user = await self._services.users.ensure_user(tg_user)
        if user.is_banned:
            log.info("update from a banned user refused")
            if self._refuse is not None:
                await self._refuse(event, tg_user.id, user.locale)
            return None
        data[LOCALE_KEY] = user.locale
        return await handler(event, data)


class BackgroundUserMiddleware(BaseMiddleware):
    """For updates the bot makes itself (aiogram-dialog's background updates): services and the stored locale.

    Their user is a stand-in with only an id, so nothing about the user is written (a user middleware would
    overwrite the stored name with the stand-in's empty one).
    """

    def __init__(self, services: HasUserLookup) -> None:
        self._services = services

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data[SERVICES_KEY] = self._services
        tg_user: User | None = data.get("event_from_user")
        user = await self._services.users.get(tg_user.id) if tg_user is not None else None
        if user is not None:
            data[LOCALE_KEY] = user.locale
        return await handler(event, data)


class InFlightUpdates(BaseMiddleware):
    """Outer ``update`` middleware counting updates being handled, so a graceful stop can wait for them."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def wait_idle(self, limit: float) -> bool:
        """Wait until no update is being handled; False if some still were after ``limit`` seconds."""
        try:
            async with asyncio.timeout(limit):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


class PoliteRefusal:
    """Answers a banned user's message or button with the ``banned.text`` notice, once a minute at most
    (across processes), so a banned user learns why nothing happens without the bot flooding the chat."""

    def __init__(self, texts: TextLookup, throttle: Throttle, *, every: float = 60.0) -> None:
        self._texts = texts
        self._throttle = throttle
        self._every = every

    async def __call__(self, event: TelegramObject, user_id: int, locale: str) -> None:
        if not await self._throttle.allow(f"banned:{user_id}", self._every):
            if isinstance(event, CallbackQuery):
                await event.answer()  # the spinner stops; no text again
            return
        text = self._texts.get(locale, "banned.text")
        try:
            if isinstance(event, Message):
                await event.answer(text)
            elif isinstance(event, CallbackQuery):
                await event.answer(text, show_alert=True)
        except TelegramAPIError as exc:
            log.warning("banned notice not delivered", user_id=user_id, error=str(exc))


class TextLookup(Protocol):
    def get(self, locale: str, key: str) -> str: ...


class Throttle(Protocol):
    async def allow(self, key: str, seconds: float) -> bool: ...
