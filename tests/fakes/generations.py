"""In-memory ``Generations`` over the fake ledger: the same methods and money rules, no database."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from app.domain.credits import (
    Credits,
    IdempotencyConflict,
    InsufficientCredits,
    LedgerReason,
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
from tests.fakes.services import FakeLedger, FixedClock


@dataclass
class FakeGenerations:
    ledger: FakeLedger
    pricing_: Pricing
    clock: FixedClock
    rows: dict[int, GenerationInfo] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    video_providers: dict[int, str] = field(default_factory=dict)

    @property
    def pricing(self) -> Pricing:
        return self.pricing_

    async def confirm(self, draft: Draft, *, key: str) -> ConfirmResult:
        validate_key(key)
        if draft.missing() or draft.format is None or draft.speech_seconds is None:
            raise DraftIncomplete(draft.missing())
        if not self.pricing_.fits(draft.speech_seconds):
            raise SpeechTooLong(draft.speech_seconds, self.pricing_.max_video_seconds)
        if key in self.keys:
            existing = self.rows[self.keys[key]]
            if existing.user_id != draft.user_id:
                raise IdempotencyConflict(key, f"a generation of user {existing.user_id}")
            return ConfirmResult(existing.id, created=False, cost=existing.cost)
        if await self.active_count(draft.user_id) >= self.pricing_.max_active_generations:
            raise TooManyActive(self.pricing_.max_active_generations)
        cost = self.pricing_.quote(draft.format, draft.speech_seconds).total
        balance = await self.ledger.balance(draft.user_id)
        if balance < cost:
            raise InsufficientCredits(draft.user_id, balance, cost)
        generation_id = len(self.rows) + 1
        self.rows[generation_id] = GenerationInfo(
            id=generation_id,
            user_id=draft.user_id,
            format=draft.format,
            character_id=draft.character_id or "",
            voice_id=draft.voice_id or "",
            script=draft.script or "",
            status=GenerationStatus.QUEUED,
            step=None,
            cost=cost,
            error_reason=None,
            video_key=None,
            audio_key=None,
            video_file_id=None,
            audio_file_id=None,
            created_at=self.clock.now(),
            finished_at=None,
            refunded=False,
            draft_id=draft.draft_id,
            locale=draft.locale or "",
            background_key=draft.background_key,
            edited_image_key=draft.edited_image_key,
            speech_key=draft.speech_key or "",
            speech_ogg_key=draft.speech_ogg_key,
            speech_seconds=draft.speech_seconds,
            speech_words_key=draft.speech_words_key,
            captions=draft.captions,
            caption_style=draft.caption_style,
        )
        self.keys[key] = generation_id
        await self.ledger.debit(draft.user_id, cost, LedgerReason.HOLD, hold_key(generation_id))
        return ConfirmResult(generation_id, created=True, cost=cost)

    async def get(self, generation_id: int) -> GenerationInfo | None:
        return self.rows.get(generation_id)

    async def start(self, generation_id: int, step: str) -> GenerationInfo:
        row = self._row(generation_id)
        check_can_start(generation_id, row.status, "start")
        row = self.rows[generation_id] = replace(
            row, status=GenerationStatus.RUNNING, step=step, started_at=self.clock.now()
        )
        return row

    async def set_step(self, generation_id: int, step: str) -> None:
        row = self._row(generation_id)
        check_can_start(generation_id, row.status, "set a step")
        self.rows[generation_id] = replace(row, step=step)

    async def take_up(self, generation_id: int) -> GenerationInfo:
        row = self._row(generation_id)
        check_can_start(generation_id, row.status, "start")
        now = self.clock.now()
        row = self.rows[generation_id] = replace(
            row,
            status=GenerationStatus.RUNNING,
            attempts=row.attempts + 1,
            heartbeat_at=now,
            started_at=row.started_at or now,
        )
        return row

    async def set_video_provider(self, generation_id: int, provider: str) -> None:
        self.video_providers[generation_id] = provider

    async def park(self, generation_id: int, *, until: datetime) -> bool:
        row = self._row(generation_id)
        if row.active:
            self.rows[generation_id] = replace(row, heartbeat_at=until, attempts=max(0, row.attempts - 1))
        return row.active

    async def heartbeat(self, generation_id: int) -> bool:
        row = self._row(generation_id)
        if row.active:
            self.rows[generation_id] = replace(row, heartbeat_at=self.clock.now())
        return row.active

    async def heartbeat_many(self, generation_ids: list[int]) -> None:
        for generation_id in generation_ids:
            await self.heartbeat(generation_id)

    async def stuck(self, *, silent_since: datetime, queued_before: datetime) -> list[GenerationInfo]:
        def silent(row: GenerationInfo) -> bool:
            last = row.heartbeat_at or row.created_at
            return row.status == GenerationStatus.RUNNING and last < silent_since

        def waiting(row: GenerationInfo) -> bool:
            return row.status == GenerationStatus.QUEUED and row.created_at < queued_before

        return [row for row in sorted(self.rows.values(), key=lambda r: r.id) if silent(row) or waiting(row)]

    async def summary(self, since: datetime) -> dict[str, int]:
        finished = [r for r in self.rows.values() if r.finished_at is not None and r.finished_at >= since]
        delivered = [r for r in finished if not r.refunded]
        refunded = [r for r in finished if r.refunded]
        return {
            "confirmed": sum(1 for r in self.rows.values() if r.created_at >= since),
            "delivered": len(delivered),
            "failed": len(refunded),
            "credits_spent": sum(r.cost for r in delivered),
            "credits_refunded": sum(r.cost for r in refunded),
            "in_progress": sum(1 for r in self.rows.values() if r.active),
            "done_total": sum(1 for r in self.rows.values() if r.status == GenerationStatus.DONE),
        }

    async def failure_reasons(self, since: datetime) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows.values():
            if row.refunded and row.finished_at is not None and row.finished_at >= since:
                counts[row.error_reason or "unknown"] = counts.get(row.error_reason or "unknown", 0) + 1
        return counts

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
        row = self._row(generation_id)
        if settles(generation_id, row.status, GenerationStatus.DONE):
            await self.ledger.record_in(None, row.user_id, LedgerReason.CAPTURE, capture_key(generation_id))
            row = self.rows[generation_id] = replace(
                row,
                status=GenerationStatus.DONE,
                video_key=video_key,
                audio_key=audio_key,
                thumb_key=thumb_key,
                video_width=width,
                video_height=height,
                video_seconds=seconds,
                finished_at=self.clock.now(),
            )
        return row

    async def fail(self, generation_id: int, reason: str, *, detail: str | None = None) -> GenerationInfo:
        row = self._row(generation_id)
        if settles(generation_id, row.status, GenerationStatus.FAILED):
            await self.ledger.credit(row.user_id, row.cost, LedgerReason.RELEASE, release_key(generation_id))
            row = self.rows[generation_id] = replace(
                row,
                status=GenerationStatus.FAILED,
                error_reason=reason,
                error_detail=detail,
                refunded=True,
                finished_at=self.clock.now(),
            )
        return row

    async def remember_file_ids(
        self, generation_id: int, *, video_file_id: str | None = None, audio_file_id: str | None = None
    ) -> None:
        row = self._row(generation_id)
        self.rows[generation_id] = replace(
            row,
            video_file_id=video_file_id or row.video_file_id,
            audio_file_id=audio_file_id or row.audio_file_id,
        )

    async def history(self, user_id: int, *, page: int, page_size: int) -> HistoryPage:
        mine = [
            r
            for r in reversed(self.rows.values())
            if r.user_id == user_id and r.status != GenerationStatus.DELETED
        ]
        page, pages = page_bounds(len(mine), page, page_size)
        items = tuple(mine[page * page_size : (page + 1) * page_size])
        return HistoryPage(items=items, page=page, pages=pages, total=len(mine))

    async def delete(self, user_id: int, generation_id: int) -> bool:
        row = self.rows.get(generation_id)
        if (
            row is None
            or row.user_id != user_id
            or row.status not in (GenerationStatus.DONE, GenerationStatus.FAILED)
        ):
            return False
        self.rows[generation_id] = replace(row, status=GenerationStatus.DELETED)
        return True

    async def active_count(self, user_id: int) -> int:
        return sum(1 for r in self.rows.values() if r.user_id == user_id and r.active)

    async def unfinished(self) -> list[int]:
        return [r.id for r in self.rows.values() if r.active]

    async def videos_made(self, user_id: int) -> int:
        return sum(
            1 for r in self.rows.values() if r.user_id == user_id and r.status == GenerationStatus.DONE
        )

    async def charge_look_edit(self, user_id: int, draft_id: str, n: int) -> Credits:
        if n < 1:
            raise ValueError(f"look edit attempts are numbered from 1, got {n}")
        key = look_edit_key(draft_id, n)
        existing = await self.ledger.entry(key)
        if existing is None and await self.look_edits_used(user_id, draft_id) >= self.pricing_.max_look_edits:
            raise LookEditLimit(self.pricing_.max_look_edits)
        entry = await self.ledger.debit(user_id, self.pricing_.look_edit, LedgerReason.LOOK_EDIT, key)
        return -entry.delta

    async def refund_look_edit(self, user_id: int, draft_id: str, n: int) -> Credits:
        key = look_edit_key(draft_id, n)
        charged = await self.ledger.entry(key)
        if charged is None:
            return 0
        entry = await self.ledger.credit(user_id, -charged.delta, LedgerReason.REFUND, refund_key(key))
        return entry.delta

    async def look_edits_used(self, user_id: int, draft_id: str) -> int:
        prefix = f"look_edit:{draft_id}:"
        charged = {e.idempotency_key for e in self.ledger.entries if e.idempotency_key.startswith(prefix)}
        refunded = {e.idempotency_key for e in self.ledger.entries if e.idempotency_key.startswith("refund:")}
        return sum(1 for key in charged if refund_key(key) not in refunded)

    def _row(self, generation_id: int) -> GenerationInfo:
        row = self.rows.get(generation_id)
        if row is None:
            raise GenerationNotFound(generation_id)
        return row
