"""Sending a broadcast: every user of its audience at most once, at a bounded rate, resumable after a stop.

Each recipient gets a delivery row *before* the message goes out; the row then says how it ended. A worker
that is stopped (SIGTERM: the job is cancelled) first waits for the message in flight and writes its outcome,
so a graceful restart leaves nothing ambiguous. A row still ``sending`` when a run begins was left by a
sender that died mid-send (SIGKILL, power loss): Telegram may or may not have the message, so it is counted
as failed and never sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, TypeVar

import structlog
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import InputFile, MessageEntity
from aiohttp import ClientConnectorError

from app.db import broadcasts as queries
from app.db.broadcasts import BroadcastStatus, DeliveryStatus
from app.logs import get_logger
from app.services.broadcasts import BroadcastInfo, Broadcasts, broadcast_info
from app.services.clock import Clock
from dialogs.i18n import TextCatalog

log = get_logger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]

PROGRESS = "admin.broadcast.progress"
REPORT = "admin.broadcast.report"
CANCELLED = "admin.broadcast.cancelled"
STOPPED_MID_SEND = "unknown: the sender stopped mid-send"
# Telegram allows about 30 messages a second to different chats; this leaves room for the bot's other work.
DEFAULT_RATE = 25.0


class BroadcastBot(Protocol):
    """The part of aiogram's ``Bot`` a broadcast needs."""

    async def send_message(
        self, chat_id: int | str, text: str, *, entities: list[MessageEntity] | None = None
    ) -> Any: ...

    async def send_photo(
        self,
        chat_id: int | str,
        photo: InputFile | str,
        *,
        caption: str | None = None,
        caption_entities: list[MessageEntity] | None = None,
    ) -> Any: ...

    async def edit_message_text(
        self, text: str, *, chat_id: int | str | None = None, message_id: int | None = None
    ) -> Any: ...


class TokenBucket:
    """At most ``rate`` takes per second on average, and never more than ``burst`` at once."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or not math.isfinite(rate):
            raise ValueError(f"rate must be a positive number of messages per second, got {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = burst
        self._last: float | None = None

    async def take(self) -> None:
        while True:
            now = self._monotonic()
            if self._last is not None:
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            # A timer may fire a hair early, and float sums drift: a token this close to whole is whole.
            if self._tokens >= 1 - 1e-9:
                self._tokens = max(0.0, self._tokens - 1)
                return
            await self._sleep((1 - self._tokens) / self.rate)


async def uncancellable(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end even if the caller is cancelled meanwhile; then the cancellation goes on.

    A message in flight cannot be called back: its outcome must be written before the worker stops.
    """
    task = asyncio.ensure_future(coro)
    stopping = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            stopping = True
        except BaseException:
            break  # the task's own failure: task.result() below raises it
    if stopping:
        if not task.cancelled() and task.exception() is not None:
            log.warning("a protected step failed while the worker stopped", exc_info=task.exception())
        raise asyncio.CancelledError
    return task.result()


class Outcome(Enum):
    DELIVERED = "delivered"
    BLOCKED = "blocked"
    FAILED = "failed"
    SKIPPED = "skipped"  # another run holds the user's row
    RETRY_AFTER = "retry_after"  # Telegram asked to wait: nothing was sent
    TRANSIENT = "transient"  # the connection was never made: may be retried


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: Outcome
    error: str | None = None
    retry_after: float = 0.0


def classify(exc: AiogramError) -> Attempt:
    """What a failed send call means for the recipient.

    Only failures that prove Telegram never took the message are retried: a 5xx or a connection lost
    mid-request may follow a delivery (the rule of ``app.telegram.retry``): a broadcast sends at most once.
    """
    if isinstance(exc, TelegramRetryAfter):
        return Attempt(Outcome.RETRY_AFTER, exc.message, retry_after=float(exc.retry_after))
    if isinstance(exc, TelegramForbiddenError):
        return Attempt(Outcome.BLOCKED, exc.message)
    if isinstance(exc, TelegramNetworkError) and isinstance(exc.__cause__, ClientConnectorError):
        return Attempt(Outcome.TRANSIENT, exc.message)
    if isinstance(exc, TelegramAPIError):
        return Attempt(Outcome.FAILED, exc.message)
    # e.g. an answer aiogram could not decode: whether the message arrived is unknown
    return Attempt(Outcome.FAILED, f"{type(exc).__name__}: {exc}")


@dataclass
class _Run:
    """What one run of the sender has done, for its checkpoints and its report."""

    counts: dict[str, int] = field(default_factory=dict)
    since_flush: int = 0
    flushed_at: float = -math.inf
    progress_at: float = -math.inf
    last_progress: str | None = None
    first_send: float | None = None
    last_send: float | None = None
    sends: int = 0
    retry_afters: int = 0

    def note_send(self, at: float) -> None:
        if self.first_send is None:
            self.first_send = at
        self.last_send = at
        self.sends += 1

    def rate(self) -> float:
        """Send calls per second between this run's first and last send: the pace Telegram saw."""
        if self.first_send is None or self.last_send is None or self.sends < 2:
            return 0.0
        span = self.last_send - self.first_send
        return (self.sends - 1) / span if span > 0 else 0.0


class _Stop(Enum):
    DONE = "done"
    CANCELLED = "cancelled"


class BroadcastSender:
    """Sends one broadcast (``run``); the worker's ``broadcast`` job calls it with the broadcast id."""

    def __init__(
        self,
        bot: BroadcastBot,
        broadcasts: Broadcasts,
        texts: TextCatalog,
        clock: Clock,
        *,
        rate: float = DEFAULT_RATE,
        sleep: Sleep = asyncio.sleep,
        monotonic: Monotonic = time.monotonic,
        default_locale: str = "ru",
        batch_size: int = 50,
        flush_interval: float = 2.0,
        progress_interval: float = 3.0,
        network_retries: int = 3,
        network_backoff: float = 1.0,
        page_size: int = 200,
        beat_every: float = 10.0,
    ) -> None:
        self._bot = bot
        self._broadcasts = broadcasts
        self._texts = texts
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic
        self._bucket = TokenBucket(rate, monotonic=monotonic, sleep=sleep)
        self.rate = rate
        self.default_locale = default_locale
        self.batch_size = batch_size
        self.beat_every = beat_every
        self.flush_interval = flush_interval
        self.progress_interval = progress_interval
        self.network_retries = network_retries
        self.network_backoff = network_backoff
        self.page_size = page_size

    async def run(self, broadcast_id: int) -> None:
        """Send a queued (or resume a sending) broadcast to the end, or until it is cancelled; nothing for a
        broadcast in any other state."""
        # Bound for every log line of the run, aiogram's included.
        with structlog.contextvars.bound_contextvars(broadcast_id=broadcast_id):
            beats = asyncio.create_task(self._beat(broadcast_id), name=f"broadcast-{broadcast_id}-beat")
            try:
                await self._run(broadcast_id)
            finally:
                beats.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beats

    async def _beat(self, broadcast_id: int) -> None:
        """Tell the reaper this sender lives, also through long 429 waits (it frees a dead sender's job)."""
        while True:
            try:
                await queries.beat(broadcast_id, now=self._clock.now())
            except Exception as exc:  # a missed beat only risks an early release; never stop sending for it
                log.warning("broadcast heartbeat failed", error=str(exc))
            await asyncio.sleep(self.beat_every)

    async def _run(self, broadcast_id: int) -> None:
        row = await queries.get(broadcast_id)
        if row is None:
            log.warning("broadcast not found")
            return
        active = (BroadcastStatus.QUEUED, BroadcastStatus.SENDING)
        if not await queries.move(broadcast_id, active, BroadcastStatus.SENDING):
            log.info("broadcast not sent", status=row.status)
            return
        now = self._clock.now()
        if row.started_at is None:
            total = await queries.audience_size(active_days=row.active_days, at=now, registered_by=now)
            await queries.set_started(broadcast_id, now=now, total=total)
        stale = await queries.fail_unsettled(broadcast_id, error=STOPPED_MID_SEND, now=now)
        if stale:
            log.warning("deliveries left mid-send by a stopped sender counted as failed", rows=stale)
        row = await queries.get(broadcast_id)
        assert row is not None  # nothing deletes broadcasts
        info = broadcast_info(row)
        locale = await queries.user_locale(info.admin_id) or self.default_locale
        run = _Run()
        log.info("broadcast sending", total=info.total, resumed=info.handled > 0 or stale > 0)
        try:
            stop = await self._walk(info, run, locale)
        except asyncio.CancelledError:
            await uncancellable(self._flush(info.id, run))
            log.info("broadcast sender stopped; the next run resumes it", counts=run.counts, sends=run.sends)
            raise
        await self._finish(info, run, locale, stop)

    async def _walk(self, info: BroadcastInfo, run: _Run, locale: str) -> _Stop:
        assert info.started_at is not None
        await self._checkpoint(info, run, locale, force=True)
        after = 0
        while True:
            recipients = await queries.next_recipients(
                info.id,
                active_days=info.active_days,
                after_user_id=after,
                limit=self.page_size,
                started_at=info.started_at,
            )
            if not recipients:
                return _Stop.DONE
            for user_id in recipients:
                after = user_id
                if await queries.status_of(info.id) != BroadcastStatus.SENDING:
                    return _Stop.CANCELLED
                outcome = await self._deliver(info, user_id, run)
                if outcome is not Outcome.SKIPPED:
                    run.since_flush += 1
                await self._checkpoint(info, run, locale)

    async def _deliver(self, info: BroadcastInfo, user_id: int, run: _Run) -> Outcome:
        """Send to one user, retrying what Telegram or the network asks to retry; the final outcome."""
        await self._bucket.take()
        attempt = await uncancellable(self._first_attempt(info, user_id, run))
        transient_errors = 0
        while attempt.outcome in (Outcome.RETRY_AFTER, Outcome.TRANSIENT):
            if attempt.outcome is Outcome.RETRY_AFTER:
                run.retry_afters += 1
                wait = attempt.retry_after
                log.info("telegram asked to slow down", retry_after=wait)
            else:
                transient_errors += 1
                if transient_errors > self.network_retries:
                    await uncancellable(self._settle(info.id, user_id, DeliveryStatus.FAILED, attempt.error))
                    return Outcome.FAILED
                wait = self.network_backoff * 2 ** (transient_errors - 1)
            try:
                await self._sleep(wait)
                await self._bucket.take()
            except asyncio.CancelledError:
                # Telegram has not taken this user's message: forget the row so that the next run sends it.
                await uncancellable(queries.release_recipient(info.id, user_id))
                raise
            attempt = await uncancellable(self._attempt(info, user_id, run))
        return attempt.outcome

    async def _first_attempt(self, info: BroadcastInfo, user_id: int, run: _Run) -> Attempt:
        if not await queries.claim_recipient(info.id, user_id, now=self._clock.now()):
            return Attempt(Outcome.SKIPPED)
        return await self._attempt(info, user_id, run)

    async def _attempt(self, info: BroadcastInfo, user_id: int, run: _Run) -> Attempt:
        """One send call; a final outcome is written to the user's row before this returns."""
        run.note_send(self._monotonic())
        attempt = await self._send(info, user_id)
        if attempt.outcome is Outcome.DELIVERED:
            await self._settle(info.id, user_id, DeliveryStatus.DELIVERED, None)
        elif attempt.outcome is Outcome.BLOCKED:
            await self._settle(info.id, user_id, DeliveryStatus.BLOCKED, attempt.error)
            await queries.mark_user_blocked(user_id, now=self._clock.now())
        elif attempt.outcome is Outcome.FAILED:
            await self._settle(info.id, user_id, DeliveryStatus.FAILED, attempt.error)
            log.info("broadcast message failed", user_id=user_id, error=attempt.error)
        return attempt

    async def _send(self, info: BroadcastInfo, user_id: int) -> Attempt:
        try:
            if info.photo_file_id is not None:
                await self._bot.send_photo(
                    user_id, info.photo_file_id, caption=info.text or None, caption_entities=_entities(info)
                )
            else:
                await self._bot.send_message(user_id, info.text, entities=_entities(info))
        except AiogramError as exc:
            return classify(exc)
        return Attempt(Outcome.DELIVERED)

    async def _settle(
        self, broadcast_id: int, user_id: int, status: DeliveryStatus, error: str | None
    ) -> None:
        await queries.settle(broadcast_id, user_id, status, now=self._clock.now(), error=error)

    async def _flush(self, broadcast_id: int, run: _Run) -> None:
        run.counts = await queries.delivery_counts(broadcast_id)
        await queries.store_counts(broadcast_id, run.counts)
        run.since_flush = 0
        run.flushed_at = self._monotonic()

    async def _checkpoint(self, info: BroadcastInfo, run: _Run, locale: str, *, force: bool = False) -> None:
        """Counters to the broadcast row every ``batch_size`` users or ``flush_interval`` seconds, and the
        admin's progress message at most every ``progress_interval`` seconds."""
        now = self._monotonic()
        progress_due = force or now - run.progress_at >= self.progress_interval
        if progress_due or run.since_flush >= self.batch_size or now - run.flushed_at >= self.flush_interval:
            await self._flush(info.id, run)
        if progress_due:
            run.progress_at = now
            await self._show_progress(info, run, locale)

    def _numbers(self, info: BroadcastInfo, run: _Run) -> dict[str, Any]:
        delivered = run.counts.get(DeliveryStatus.DELIVERED, 0)
        blocked = run.counts.get(DeliveryStatus.BLOCKED, 0)
        failed = run.counts.get(DeliveryStatus.FAILED, 0)
        return {
            "id": info.id,
            "sent": delivered + blocked + failed,
            "total": info.total,
            "delivered": delivered,
            "blocked": blocked,
            "failed": failed,
            "rate": f"{run.rate():.1f}",
        }

    async def _show_progress(self, info: BroadcastInfo, run: _Run, locale: str) -> None:
        if info.progress_chat_id is None or info.progress_message_id is None:
            return
        text = self._texts.render(locale, PROGRESS, self._numbers(info, run))
        if text == run.last_progress:
            return  # Telegram refuses an edit that changes nothing
        try:
            await self._bot.edit_message_text(
                text, chat_id=info.progress_chat_id, message_id=info.progress_message_id
            )
        except TelegramAPIError as exc:
            # The admin may have deleted the message; progress is a courtesy, the report still comes.
            log.info("broadcast progress not shown", error=exc.message)
            return
        run.last_progress = text

    async def _finish(self, info: BroadcastInfo, run: _Run, locale: str, stop: _Stop) -> None:
        if stop is _Stop.DONE and not await queries.move(
            info.id, (BroadcastStatus.SENDING,), BroadcastStatus.DONE, finished_at=self._clock.now()
        ):
            stop = _Stop.CANCELLED  # cancelled after the last user was sent
        await self._flush(info.id, run)
        await self._show_progress(info, run, locale)
        numbers = self._numbers(info, run)
        key = REPORT if stop is _Stop.DONE else CANCELLED
        chat = info.progress_chat_id if info.progress_chat_id is not None else info.admin_id
        try:
            await self._bot.send_message(chat, self._texts.render(locale, key, numbers))
        except TelegramAPIError as exc:
            log.warning("broadcast report not delivered", error=exc.message)
        log.info(
            "broadcast finished",
            status=stop.value,
            total=info.total,
            delivered=numbers["delivered"],
            blocked=numbers["blocked"],
            failed=numbers["failed"],
            rate=numbers["rate"],
            retry_afters=run.retry_afters,
        )


def _entities(info: BroadcastInfo) -> list[MessageEntity] | None:
    """The admin's formatting, for every copy; an entity Telegram's types refuse is dropped, not fatal."""
    found: list[MessageEntity] = []
    for data in info.entities:
        try:
            found.append(MessageEntity.model_validate(data))
        except ValueError:
            log.warning("broadcast entity dropped", entity=str(data)[:200])
    return found or None
