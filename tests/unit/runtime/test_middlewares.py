"""Update middlewares through a real Dispatcher, no network: user, locale, bans, log context, in-flight."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from aiogram import Bot, Dispatcher
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from app.telegram import InFlightUpdates, LogContextMiddleware, UserContextMiddleware
from dialogs.registry import LOCALE_KEY, SERVICES_KEY

BOT = Bot("42:TEST")


@dataclass(frozen=True)
class Row:
    locale: str
    is_banned: bool = False


@dataclass
class FakeUsers:
    banned: set[int] = field(default_factory=set)
    seen: list[int] = field(default_factory=list)

    async def ensure_user(self, tg_user: User) -> Row:
        self.seen.append(tg_user.id)
        locale = "en" if tg_user.language_code == "en" else "ru"
        return Row(locale, tg_user.id in self.banned)


@dataclass
class FakeServices:
    users: FakeUsers = field(default_factory=FakeUsers)


def user(user_id: int, language: str = "ru") -> User:
    return User(id=user_id, is_bot=False, first_name="Anna", language_code=language)


def message_update(update_id: int, sender: User, text: str = "hello") -> Update:
    chat = Chat(id=sender.id, type="private")
    message = Message(message_id=update_id, date=datetime.now(UTC), chat=chat, from_user=sender, text=text)
    return Update(update_id=update_id, message=message)


def callback_update(update_id: int, sender: User) -> Update:
    query = CallbackQuery(id=str(update_id), from_user=sender, chat_instance="x", data="menu")
    return Update(update_id=update_id, callback_query=query)


def dispatcher(services: FakeServices) -> tuple[Dispatcher, list[dict[str, Any]]]:
    dp = Dispatcher()
    seen: list[dict[str, Any]] = []
    middleware = UserContextMiddleware(services)
    dp.update.outer_middleware(LogContextMiddleware())
    dp.message.outer_middleware(middleware)
    dp.callback_query.outer_middleware(middleware)

    @dp.message()
    async def on_message(message: Message, **data: Any) -> None:
        seen.append({**data, "context": structlog.contextvars.get_contextvars()})

    @dp.callback_query()
    async def on_callback(query: CallbackQuery, **data: Any) -> None:
        seen.append({**data, "context": structlog.contextvars.get_contextvars()})

    return dp, seen


async def test_handlers_get_the_users_locale_and_the_services() -> None:
    services = FakeServices()
    dp, seen = dispatcher(services)
    await dp.feed_update(BOT, message_update(1, user(501, "en")))
    await dp.feed_update(BOT, callback_update(2, user(502, "ru")))
    assert [d[LOCALE_KEY] for d in seen] == ["en", "ru"]
    assert all(d[SERVICES_KEY] is services for d in seen)
    assert services.users.seen == [501, 502]


async def test_banned_users_reach_no_handler() -> None:
    services = FakeServices(FakeUsers(banned={666}))
    dp, seen = dispatcher(services)
    await dp.feed_update(BOT, message_update(1, user(666)))
    await dp.feed_update(BOT, callback_update(2, user(666)))
    assert seen == []


async def test_log_context_names_the_update_and_user_only_while_it_is_handled() -> None:
    dp, seen = dispatcher(FakeServices())
    await dp.feed_update(BOT, message_update(31, user(501)))
    assert seen[0]["context"] == {"update_id": 31, "user_id": 501}
    assert structlog.contextvars.get_contextvars() == {}


async def test_in_flight_updates_are_waited_for() -> None:
    dp = Dispatcher()
    in_flight = InFlightUpdates()
    dp.update.outer_middleware(in_flight)
    release = asyncio.Event()
    finished: list[int] = []

    @dp.message()
    async def slow(message: Message) -> None:
        await release.wait()
        finished.append(message.message_id)

    task = asyncio.create_task(dp.feed_update(BOT, message_update(7, user(1))))
    await asyncio.sleep(0.01)
    assert in_flight.count == 1
    assert not await in_flight.wait_idle(0.05)
    release.set()
    assert await in_flight.wait_idle(1.0)
    await task
    assert finished == [7] and in_flight.count == 0
