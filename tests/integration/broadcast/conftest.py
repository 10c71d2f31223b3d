"""Broadcasts on a real (SQLite) database: users, a scripted bot and a fake clock for the rate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import EditMessageText, SendMessage, SendPhoto
from aiogram.types import InputFile

from app.db.broadcasts import DeliveryStatus
from app.db.models import BroadcastDelivery, User
from app.db.setup import close_db, init_db
from app.jobs.broadcast import BroadcastSender
from app.services.broadcasts import Broadcasts
from dialogs.i18n import TextCatalog
from tests.fakes.services import FixedClock

ADMIN = 1
PROGRESS_MESSAGE = 77

# The texts the catalog is to carry (catalog/texts/{ru,en}.yaml, admin.broadcast.*).
BROADCAST_TEXTS = {
    "en": {
        "admin.broadcast.progress": (
            "📣 Broadcast #{id}: sent {sent} of {total} (blocked {blocked}, failed {failed})"
        ),
        "admin.broadcast.report": (
            "✅ Broadcast #{id} finished: {sent} of {total}.\n"
            "Delivered: {delivered}\nBlocked the bot: {blocked}\nFailed: {failed}\nRate: {rate} messages/s"
        ),
        "admin.broadcast.cancelled": (
            "⛔ Broadcast #{id} cancelled: {sent} of {total}.\n"
            "Delivered: {delivered}\nBlocked the bot: {blocked}\nFailed: {failed}\nRate: {rate} messages/s"
        ),
    },
    "ru": {
        "admin.broadcast.progress": (
            "📣 Рассылка #{id}: отправлено {sent} из {total} (заблокировали {blocked}, ошибок {failed})"
        ),
        "admin.broadcast.report": (
            "✅ Рассылка #{id} завершена: {sent} из {total}.\n"
            "Доставлено: {delivered}\nЗаблокировали бота: {blocked}\nОшибок: {failed}\n"
            "Скорость: {rate} сообщ./с"
        ),
        "admin.broadcast.cancelled": (
            "⛔ Рассылка #{id} отменена: {sent} из {total}.\n"
            "Доставлено: {delivered}\nЗаблокировали бота: {blocked}\nОшибок: {failed}\n"
            "Скорость: {rate} сообщ./с"
        ),
    },
}


def broadcast_texts() -> TextCatalog:
    return TextCatalog(BROADCAST_TEXTS, "ru")


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[str]:
    await init_db(sqlite_url)
    yield sqlite_url
    await close_db()


class FakeTime:
    """``monotonic`` and ``sleep`` for the token bucket: sleeping moves the time, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Sent:
    chat_id: int
    text: str
    at: float
    photo: str | None = None


@dataclass
class ScriptedBot:
    """Records sends and edits; ``script[user]`` lists exceptions the user's next send calls raise, in
    order; ``blocked`` users answer 403 every time. ``on_send(n)`` runs after the n-th send call."""

    time: FakeTime
    script: dict[int, list[Exception]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[int, float]] = field(default_factory=list)
    edits: list[tuple[str, float]] = field(default_factory=list)
    entities: list[Any] = field(default_factory=list)
    on_send: Callable[[int], Any] | None = None

    async def _call(self, chat_id: int, text: str, photo: str | None) -> None:
        self.calls.append((chat_id, self.time.now))
        if self.on_send is not None:
            result = self.on_send(len(self.calls))
            if asyncio.iscoroutine(result):
                await result
        method = SendMessage(chat_id=chat_id, text=text)
        if chat_id in self.blocked:
            raise TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")
        pending = self.script.get(chat_id)
        if pending:
            raise pending.pop(0)
        self.sent.append(Sent(chat_id, text, self.time.now, photo))

    async def send_message(self, chat_id: int | str, text: str, *, entities: Any = None) -> Any:
        self.entities.append(entities)
        await self._call(int(chat_id), text, None)

    async def send_photo(
        self,
        chat_id: int | str,
        photo: InputFile | str,
        *,
        caption: str | None = None,
        caption_entities: Any = None,
    ) -> Any:
        self.entities.append(caption_entities)
        assert isinstance(photo, str)
        SendPhoto(chat_id=chat_id, photo=photo, caption=caption)  # the arguments aiogram would send
        await self._call(int(chat_id), caption or "", photo)

    async def edit_message_text(
        self, text: str, *, chat_id: int | str | None = None, message_id: int | None = None
    ) -> Any:
        EditMessageText(text=text, chat_id=chat_id, message_id=message_id)
        assert (chat_id, message_id) == (ADMIN, PROGRESS_MESSAGE)
        self.edits.append((text, self.time.now))

    def to(self, chat_id: int) -> list[str]:
        return [s.text for s in self.sent if s.chat_id == chat_id]


@dataclass
class World:
    clock: FixedClock = field(default_factory=FixedClock)
    time: FakeTime = field(default_factory=FakeTime)

    def __post_init__(self) -> None:
        self.broadcasts = Broadcasts(self.clock)
        self.bot = ScriptedBot(self.time)
        self.texts = broadcast_texts()

    def sender(self, **options: Any) -> BroadcastSender:
        options.setdefault("rate", 1000.0)
        return BroadcastSender(
            self.bot,
            self.broadcasts,
            self.texts,
            self.clock,
            sleep=self.time.sleep,
            monotonic=self.time.monotonic,
            network_backoff=0.5,
            **options,
        )

    async def users(
        self,
        ids: range | list[int],
        *,
        registered: bool = True,
        banned: bool = False,
        seen_days_ago: float = 0,
        locale: str = "en",
    ) -> list[int]:
        now = self.clock.now()
        seen = now - timedelta(days=seen_days_ago)
        await User.bulk_create(
            [
                User(
                    id=user_id,
                    locale=locale,
                    created_at=seen,
                    registered_at=seen if registered else None,
                    last_seen_at=seen,
                    is_banned=banned,
                )
                for user_id in ids
            ]
        )
        return list(ids)

    async def admin(self, locale: str = "en") -> None:
        """The admin's row (not registered, so not in any audience): its locale picks the report's."""
        await self.users([ADMIN], registered=False, locale=locale)

    async def started(self, text: str = "Hello from the team", **create: Any) -> int:
        """A broadcast created and started by the admin, its progress message in the admin's chat."""
        info = await self.broadcasts.create(ADMIN, text, create.get("photo"), create.get("active_days"))
        assert await self.broadcasts.start(info.id, ADMIN, PROGRESS_MESSAGE)
        return info.id

    async def rows(self, broadcast_id: int) -> dict[int, tuple[str, str | None]]:
        rows = await BroadcastDelivery.filter(broadcast_id=broadcast_id).order_by("user_id")
        return {row.user_id: (row.status, row.error) for row in rows}

    async def statuses(self, broadcast_id: int) -> dict[str, int]:
        counts = {s.value: 0 for s in DeliveryStatus}
        for status, _ in (await self.rows(broadcast_id)).values():
            counts[status] += 1
        return counts


@pytest.fixture
async def world(db: str) -> World:
    return World()
