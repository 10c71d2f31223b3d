"""Generations and their money: confirm (hold), deliver (capture), fail (release), look edits, My videos.

Every step that moves credits runs in one transaction that first locks the user's row (the ledger's lock)
and then the generation's row, always in that order, so two steps of one generation — or two confirms of
one user — run one after the other and see each other's result.

The ledger of one generation reads ``hold`` (−cost, on confirm), then either ``capture`` (a zero-delta row:
the held credits are now spent; see ``app.domain.credits.AUDIT_REASONS``) or ``release`` (+cost, back to the
user). The balance stays the sum of the ledger throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.db import generations as queries
from app.db import ledger as ledger_queries
from app.db.models import Generation
from app.domain.credits import (
    Credits,
    IdempotencyConflict,
    InsufficientCredits,
    LedgerReason,
    UnknownUserError,
    capture_key,
    hold_key,
    look_edit_key,
    refund_key,
    release_key,
    validate_key,
)
from app.domain.generations import (
    ConfirmResult,
    Draft,
    DraftIncomplete,
    GenerationInfo,
    GenerationNotFound,
    GenerationStatus,
    HistoryPage,
    LookEditLimit,
    SpeechTooLong,
    TooManyActive,
    check_can_start,
    page_bounds,
    settles,
)
from app.domain.pricing import Pricing
from app.services.clock import Clock
from app.services.ledger import Ledger


class Generations:
    """The generation rows and the credits that go with them."""

    def __init__(
        self,
        ledger: Ledger,
        pricing: Pricing,
        clock: Clock,
        *,
        on_finished: Callable[[str], None] | None = None,
    ) -> None:
        """``on_finished(status)`` hears once of each generation that ends (done or failed): metrics."""
        self._on_finished = on_finished
        self._ledger = ledger
        self._pricing = pricing
        self._clock = clock

    @property
    def pricing(self) -> Pricing:
        return self._pricing

    async def confirm(self, draft: Draft, *, key: str) -> ConfirmResult:
        """Create the queued generation and hold its cost, once per ``key`` (a double tap gets the first one).

        Raises ``DraftIncomplete``, ``SpeechTooLong``, ``TooManyActive`` or ``InsufficientCredits`` (with the
        balance and the cost), writing nothing.
        """
        validate_key(key)
        missing = draft.missing()
        if missing:
            raise DraftIncomplete(missing)
        if draft.format is None or draft.speech_seconds is None:  # ruled out by missing(); narrows the types
            raise DraftIncomplete(("format", "speech_seconds"))
        if not self._pricing.fits(draft.speech_seconds):
            raise SpeechTooLong(draft.speech_seconds, self._pricing.max_video_seconds)
        cost = self._pricing.quote(draft.format, draft.speech_seconds).total
        try:
            return await self._confirm_once(draft, key, cost)
        except IntegrityError:
            # Another user's confirm committed this key between our look-up and our insert (the user lock
            # only orders one user's confirms); now the look-up sees it and reports the conflict.
            return await self._confirm_once(draft, key, cost)

    async def _confirm_once(self, draft: Draft, key: str, cost: Credits) -> ConfirmResult:
        async with in_transaction() as conn:
            balance = await _lock_user(conn, draft.user_id)
            existing = await queries.by_key(conn, key)
            if existing is not None:
                if existing.user_id != draft.user_id:
                    raise IdempotencyConflict(key, f"a generation of user {existing.user_id}")
                return ConfirmResult(existing.id, created=False, cost=existing.cost)
            limit = self._pricing.max_active_generations
            if await queries.active_count(draft.user_id, conn) >= limit:
                raise TooManyActive(limit)
            if balance < cost:
                raise InsufficientCredits(draft.user_id, balance, cost)
            row = await queries.insert(conn, draft, confirm_key=key, cost=cost, now=self._clock.now())
            await self._ledger.debit_in(
                conn, draft.user_id, cost, LedgerReason.HOLD, hold_key(row.id), ref=str(row.id)
            )
            return ConfirmResult(row.id, created=True, cost=cost)

    async def get(self, generation_id: int) -> GenerationInfo | None:
        row = await queries.get(generation_id)
        return None if row is None else queries.info(row)

    async def start(self, generation_id: int, step: str) -> GenerationInfo:
        """Mark the generation running at ``step`` (again, for a retried job); refused once it is finished."""
        await self._update_active(generation_id, "start", status=GenerationStatus.RUNNING.value, step=step)
        await queries.set_started(generation_id, self._clock.now())
        return await self._info(generation_id)

    async def set_step(self, generation_id: int, step: str) -> None:
        """Record the worker's step, for progress messages and for finding where a failure happened."""
        await self._update_active(generation_id, "set a step", step=step, heartbeat_at=self._clock.now())

    async def set_video_provider(self, generation_id: int, provider: str) -> None:
        """Who makes the generation's talking video (for failure rates by provider)."""
        await queries.update_active(generation_id, video_provider=provider[:32])

    async def take_up(self, generation_id: int) -> GenerationInfo:
        """A worker starts (or resumes) the generation: running, one more attempt, alive now."""
        now = self._clock.now()
        await self._update_active(
            generation_id,
            "start",
            status=GenerationStatus.RUNNING.value,
            attempts=F("attempts") + 1,
            heartbeat_at=now,
        )
        await queries.set_started(generation_id, now)
        return await self._info(generation_id)

    async def park(self, generation_id: int, *, until: datetime) -> bool:
        """The worker hands the generation back while a provider renders (it reports by webhook): the take-up
        does not count as a death, and the reaper leaves it alone until ``until``. False when no longer in
        progress."""
        # take_up counted this run (attempts >= 1): a parked run is given back, not counted.
        changed = await queries.update_active(generation_id, heartbeat_at=until, attempts=F("attempts") - 1)
        return bool(changed)

    async def heartbeat(self, generation_id: int) -> bool:
        """The worker is still at it (polling a provider): keeps the reaper away. False when the generation is
        no longer in progress (the reaper failed it meanwhile): the worker should stop."""
        return bool(await queries.update_active(generation_id, heartbeat_at=self._clock.now()))

    async def heartbeat_many(self, generation_ids: list[int]) -> None:
        """One statement for every generation a worker is rendering right now."""
        if generation_ids:
            await queries.heartbeat_many(generation_ids, self._clock.now())

    async def summary(self, since: datetime) -> dict[str, int]:
        """Counts for the daily summary: videos confirmed, delivered and failed since ``since``, credits
        spent on delivered videos and returned on failed ones, and generations still in progress."""
        return await queries.summary(since)

    async def failure_reasons(self, since: datetime) -> dict[str, int]:
        """Why generations failed since ``since``: reason → count."""
        return await queries.failure_reasons(since)

    async def stuck(self, *, silent_since: datetime, queued_before: datetime) -> list[GenerationInfo]:
        """Running generations with no sign of life since ``silent_since`` and queued ones older than
        ``queued_before``: what a lost job or a dead worker left behind."""
        rows = await queries.stuck(silent_since=silent_since, queued_before=queued_before)
        return [queries.info(row) for row in rows]

    async def complete(
        self,
        generation_id: int,
        *,
        video_key: str,
        audio_key: str,
        thumb_key: str | None = None,
        width: int | None = None,
        height: int | None = None,
        seconds: float | None = None,
    ) -> GenerationInfo:
        """The video was delivered: capture the hold. A repeat is a no-op; after a failure it is refused."""
        async with in_transaction() as conn:
            row = await self._lock(conn, generation_id)
            if settles(generation_id, GenerationStatus(row.status), GenerationStatus.DONE):
                await self._ledger.record_in(
                    conn, row.user_id, LedgerReason.CAPTURE, capture_key(row.id), ref=str(row.id)
                )
                await queries.update(
                    row.id,
                    conn,
                    status=GenerationStatus.DONE.value,
                    video_key=video_key,
                    audio_key=audio_key,
                    thumb_key=thumb_key,
                    video_width=width,
                    video_height=height,
                    video_seconds=seconds,
                    finished_at=self._clock.now(),
                )
                if self._on_finished is not None:
                    self._on_finished(GenerationStatus.DONE.value)
            return queries.info(await _reread(conn, row.id))

    async def fail(self, generation_id: int, reason: str, *, detail: str | None = None) -> GenerationInfo:
        """The generation cannot be made: release the hold, exactly the held amount. Refused after delivery.

        ``reason`` is shown to the user (a text key under ``errors.``); ``detail`` is for operators.
        """
        async with in_transaction() as conn:
            row = await self._lock(conn, generation_id)
            if settles(generation_id, GenerationStatus(row.status), GenerationStatus.FAILED):
                held = await self._ledger.entry(hold_key(row.id), conn)
                if held is None:
                    raise RuntimeError(f"generation {row.id} has no hold to release")
                await self._ledger.credit_in(
                    conn, row.user_id, -held.delta, LedgerReason.RELEASE, release_key(row.id), ref=str(row.id)
                )
                await queries.update(
                    row.id,
                    conn,
                    status=GenerationStatus.FAILED.value,
                    error_reason=reason,
                    error_detail=detail,
                    refunded=True,
                    finished_at=self._clock.now(),
                )
                if self._on_finished is not None:
                    self._on_finished(GenerationStatus.FAILED.value)
            return queries.info(await _reread(conn, row.id))

    async def remember_file_ids(
        self, generation_id: int, *, video_file_id: str | None = None, audio_file_id: str | None = None
    ) -> None:
        """Keep Telegram's file ids of the sent video and audio: My videos resends them without uploading."""
        values = {
            name: value
            for name, value in (("video_file_id", video_file_id), ("audio_file_id", audio_file_id))
            if value is not None
        }
        if values and not await queries.update(generation_id, None, **values):
            raise GenerationNotFound(generation_id)

    async def history(self, user_id: int, *, page: int, page_size: int) -> HistoryPage:
        """The user's videos newest first, deleted ones hidden; ``page`` (0-based) is clamped into range."""
        total = await queries.visible_count(user_id)
        page, pages = page_bounds(total, page, page_size)
        rows = await queries.visible_page(user_id, offset=page * page_size, limit=page_size)
        return HistoryPage(items=tuple(queries.info(r) for r in rows), page=page, pages=pages, total=total)

    async def delete(self, user_id: int, generation_id: int) -> bool:
        """Hide the user's finished generation from My videos; False for anyone else's or an active one."""
        return await queries.delete_finished(user_id, generation_id)

    async def active_count(self, user_id: int) -> int:
        return await queries.active_count(user_id)

    async def unfinished(self) -> list[int]:
        """Generations still queued or running, oldest first: what a crash left, to resume or fail."""
        # Left alone, they would hold their credits and count against the user's limit forever.
        return await queries.unfinished_ids()

    async def videos_made(self, user_id: int) -> int:
        return await queries.videos_made(user_id)

    async def charge_look_edit(self, user_id: int, draft_id: str, n: int) -> Credits:
        """Take the price of look edit attempt ``n`` of a draft (once per attempt); returns the price.

        Every attempt gets a new ``n`` (1, 2, …); refunded attempts do not count towards ``max_look_edits``.
        Raises ``LookEditLimit`` or ``InsufficientCredits``, writing nothing.
        """
        if n < 1:
            raise ValueError(f"look edit attempts are numbered from 1, got {n}")
        key = look_edit_key(draft_id, n)
        async with in_transaction() as conn:
            await _lock_user(conn, user_id)
            existing = await self._ledger.entry(key, conn)
            if existing is not None and await self._ledger.entry(refund_key(key), conn) is not None:
                raise IdempotencyConflict(key, "a look edit that was refunded: number each attempt anew")
            if existing is None:
                limit = self._pricing.max_look_edits
                if await queries.look_edits_kept(conn, user_id, draft_id) >= limit:
                    raise LookEditLimit(limit)
            price = self._pricing.look_edit
            entry = await self._ledger.debit_in(
                conn, user_id, price, LedgerReason.LOOK_EDIT, key, ref=draft_id
            )
            return -entry.delta

    async def refund_look_edit(self, user_id: int, draft_id: str, n: int) -> Credits:
        """Return what attempt ``n`` was charged (the edit was refused or failed); 0 if nothing was."""
        key = look_edit_key(draft_id, n)
        async with in_transaction() as conn:
            await _lock_user(conn, user_id)
            charged = await self._ledger.entry(key, conn)
            if charged is None:
                return 0
            entry = await self._ledger.credit_in(
                conn, user_id, -charged.delta, LedgerReason.REFUND, refund_key(key), ref=draft_id
            )
            return entry.delta

    async def look_edits_used(self, user_id: int, draft_id: str) -> int:
        """Look edits of the draft that stayed charged, for "edits left"."""
        async with in_transaction() as conn:
            return await queries.look_edits_kept(conn, user_id, draft_id)

    async def _existing(self, generation_id: int) -> Generation:
        row = await queries.get(generation_id)
        if row is None:
            raise GenerationNotFound(generation_id)
        return row

    async def _info(self, generation_id: int) -> GenerationInfo:
        return queries.info(await self._existing(generation_id))

    async def _lock(self, conn: BaseDBAsyncClient, generation_id: int) -> Generation:
        """The generation's row locked, after its user's row (the order every money step takes)."""
        row = await queries.get(generation_id, conn)
        if row is None:
            raise GenerationNotFound(generation_id)
        await _lock_user(conn, row.user_id)
        locked = await queries.lock(conn, generation_id)
        if locked is None:
            raise GenerationNotFound(generation_id)
        return locked

    async def _update_active(self, generation_id: int, action: str, **values: object) -> None:
        """Update a generation only while it is active, in one statement, so a finish in between wins."""
        if not await queries.update_active(generation_id, **values):
            row = await self._existing(generation_id)
            check_can_start(generation_id, GenerationStatus(row.status), action)


async def _lock_user(conn: BaseDBAsyncClient, user_id: int) -> Credits:
    balance = await ledger_queries.lock_balance(conn, user_id)
    if balance is None:
        raise UnknownUserError(user_id)
    return balance


async def _reread(conn: BaseDBAsyncClient, generation_id: int) -> Generation:
    row = await queries.get(generation_id, conn)
    if row is None:
        raise GenerationNotFound(generation_id)
    return row
