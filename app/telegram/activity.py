"""Who uses the bot and how much: every update from a user is counted in memory and written in batches.

Counting in memory keeps the database out of the update's path; a flush writes all users seen since the last
one in a few statements (``app.db.activity``). A flush that fails keeps its counts for the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from app.db.activity import Seen, add_activity
from app.logs import get_logger
from app.services.clock import Clock

log = get_logger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ActivityStore(Protocol):
    async def __call__(self, batch: Mapping[int, Seen]) -> int:
        """Add the batch to the users' rows, all or nothing."""
        ...


class ActivityRecorder:
    """Counts updates per user in memory; :meth:`run` (or the caller) flushes them to the database."""

    def __init__(
        self, clock: Clock, flush_every: float = 10.0, *, store: ActivityStore = add_activity
    ) -> None:
        self._clock = clock
        self._flush_every = flush_every
        self._store = store
        self._pending: dict[int, Seen] = {}
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> Mapping[int, Seen]:
        """Counts not written yet, by user id."""
        return dict(self._pending)

    def seen(self, user_id: int) -> None:
        """One more update from ``user_id``, now."""
        now = self._clock.now()
        before = self._pending.get(user_id)
        if before is None:
            self._pending[user_id] = Seen(1, now)
        else:
            self._pending[user_id] = Seen(before.count + 1, max(before.last, now))

    async def flush(self) -> int:
        """Write what was counted since the last flush; returns the number of users sent to the database.

        Updates counted while the write runs go to the next flush. If the write fails (or is cancelled) its
        transaction is rolled back and the counts are put back, so nothing is lost or counted twice."""
        async with self._lock:
            batch, self._pending = self._pending, {}
            if not batch:
                return 0
            try:
                await self._store(batch)
            except BaseException:
                self._restore(batch)
                raise
            return len(batch)

    def _restore(self, batch: Mapping[int, Seen]) -> None:
        for user_id, old in batch.items():
            new = self._pending.get(user_id)
            self._pending[user_id] = (
                old if new is None else Seen(old.count + new.count, max(old.last, new.last))
            )

    async def run(self) -> None:
        """Flush every ``flush_every`` seconds until cancelled, then flush once more."""
        try:
            while True:
                await asyncio.sleep(self._flush_every)
                await self._flush_logged()
        except asyncio.CancelledError:
            await self._flush_logged()
            raise

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception as exc:  # kept for the next flush; a database hiccup must not end the loop
            log.warning(
                "activity: flush failed, kept for the next one",
                users=len(self._pending),
                error=f"{type(exc).__name__}: {exc}",
            )


class ActivityMiddleware(BaseMiddleware):
    """Outer ``dispatcher.update`` middleware: every update from a user counts towards their activity."""

    def __init__(self, recorder: ActivityRecorder) -> None:
        self._recorder = recorder

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is not None:
            self._recorder.seen(user.id)
        return await handler(event, data)
