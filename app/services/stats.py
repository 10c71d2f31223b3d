"""``AdminStats``: the numbers of the admin stats screen, in one snapshot.

Every number comes from one aggregate statement (``app.db.stats``); the statements run concurrently, so on
PostgreSQL they read from several connections and the snapshot is not one transaction's view — numbers moving
during the fraction of a second they take do not matter on this screen.

Windows: "today" is since midnight UTC by the clock; "7 d" and "30 d" are rolling (``now`` minus 7 or 30
days). A video the user deleted from My videos counts by how it ended (``refunded``: failed, else done).

Credits, per window (the ledger rows written in it) and in whole credits:

- ``issued``: welcome bonus + admin grants + purchases;
- ``revoked``: taken back by admins;
- ``returned``: releases (failed videos' holds) + refunds (look edits, admin refunds);
- ``spent``: holds captured by delivered videos + look edits − refunds: what users paid for and kept.
  Holds still waiting on a video are in neither; ``CreditStats.held_now`` has them. Over all time,
  sum of balances = issued − revoked − spent − held_now.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from app.db import stats as queries
from app.db.costs import CostRow
from app.db.stats import EndedRow, WindowCounts, Windows
from app.domain.credits import LedgerReason
from app.domain.generations import GenerationStatus
from app.services.clock import Clock

__all__ = [
    "AdminStats",
    "CostLine",
    "CostStats",
    "CreditStats",
    "CreditTotals",
    "DayVideos",
    "FailureStats",
    "ProviderFailures",
    "StatsSnapshot",
    "StepFailures",
    "TimeToVideo",
    "UserStats",
    "VideoStats",
    "WindowCounts",
]

MICROS = 1_000_000
ISSUED = (LedgerReason.WELCOME_BONUS, LedgerReason.ADMIN_GRANT, LedgerReason.PURCHASE)
RETURNED = (LedgerReason.RELEASE, LedgerReason.REFUND)


@dataclass(frozen=True, slots=True)
class UserStats:
    total: int
    new: WindowCounts
    """Users whose first update came in the window (``created_at``)."""
    active: WindowCounts
    """Users who sent anything in the window (``last_seen_at``)."""
    blocked: int
    """Users who blocked the bot (a message to them failed with "blocked by the user")."""
    banned: int


@dataclass(frozen=True, slots=True)
class DayVideos:
    """Videos confirmed on one UTC day and how they ended; ``total`` also counts those still in progress."""

    day: date
    total: int
    done: int
    failed: int


@dataclass(frozen=True, slots=True)
class VideoStats:
    by_status: Mapping[str, int]
    """All time, every ``GenerationStatus`` value (queued, running, done, failed, deleted) with its count."""
    total: int
    by_day: tuple[DayVideos, ...]
    """The last 14 UTC days, oldest first, today last; days without videos are there with zeros."""


@dataclass(frozen=True, slots=True)
class CreditTotals:
    issued: int
    spent: int
    returned: int
    revoked: int
    by_reason: Mapping[str, int]
    """Credits moved per ledger reason (positive amounts; ``capture``: the credits of the captured holds)."""


@dataclass(frozen=True, slots=True)
class CreditStats:
    all_time: CreditTotals
    last_30d: CreditTotals
    held_now: int
    """Credits held by videos still queued or rendering: spent if delivered, returned if they fail."""

    @property
    def balances(self) -> int:
        """What all users have on their balances now (by the ledger's own arithmetic)."""
        t = self.all_time
        return t.issued - t.revoked - t.spent - self.held_now


@dataclass(frozen=True, slots=True)
class StepFailures:
    step: str | None
    """The pipeline step the video failed at; None: before the worker started it."""
    failed: int
    share: float
    """``failed`` out of every video that ended in the window (0..1)."""


@dataclass(frozen=True, slots=True)
class ProviderFailures:
    provider: str | None
    """The provider of the video's talking-video call in the cost ledger; None: no such call is recorded."""
    finished: int
    failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.finished if self.finished else 0.0


@dataclass(frozen=True, slots=True)
class FailureStats:
    """Videos confirmed in the last 30 days that have ended (done or failed, deleted ones included)."""

    finished: int
    failed: int
    by_step: tuple[StepFailures, ...]
    """Most failures first."""
    by_provider: tuple[ProviderFailures, ...]
    """Most videos first."""

    @property
    def rate(self) -> float:
        return self.failed / self.finished if self.finished else 0.0


@dataclass(frozen=True, slots=True)
class CostLine:
    provider: str
    model: str
    calls: int
    units: float
    usd_micros: int

    @property
    def usd(self) -> float:
        return self.usd_micros / MICROS


@dataclass(frozen=True, slots=True)
class CostStats:
    """The cost ledger's estimate of the providers' charges, per provider and model, biggest spend first."""

    last_30d: tuple[CostLine, ...]
    all_time: tuple[CostLine, ...]

    @property
    def usd_last_30d(self) -> float:
        return sum(line.usd_micros for line in self.last_30d) / MICROS

    @property
    def usd_all_time(self) -> float:
        return sum(line.usd_micros for line in self.all_time) / MICROS


@dataclass(frozen=True, slots=True)
class TimeToVideo:
    """Confirm to delivery (``finished_at - created_at``) of the delivered videos confirmed in 30 days."""

    median_seconds: float | None
    """None when no video was delivered."""
    videos: int


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    at: datetime
    users: UserStats
    videos: VideoStats
    credits: CreditStats
    failures: FailureStats
    costs: CostStats
    time_to_video: TimeToVideo


class AdminStats:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def snapshot(self) -> StatsSnapshot:
        w = Windows.at(self._clock.now())
        # Independent reads: on PostgreSQL each takes its own pooled connection; SQLite runs them in turn.
        async with asyncio.TaskGroup() as group:
            user_totals = group.create_task(queries.user_totals())
            new = group.create_task(queries.window_counts("created_at", w))
            active = group.create_task(queries.window_counts("last_seen_at", w))
            by_status = group.create_task(queries.videos_by_status())
            by_day = group.create_task(queries.videos_by_day(w))
            ended = group.create_task(queries.ended(w.last_30d))
            median = group.create_task(queries.time_to_video(w.last_30d))
            ledger_all = group.create_task(queries.ledger_sums())
            ledger_30d = group.create_task(queries.ledger_sums(w.last_30d))
            captured_30d = group.create_task(queries.captured(w.last_30d))
            held = group.create_task(queries.held())
            costs_30d = group.create_task(queries.cost_totals(w.last_30d))
            costs_all = group.create_task(queries.cost_totals())
        return _snapshot(
            w,
            users=UserStats(
                total=user_totals.result().total,
                new=new.result(),
                active=active.result(),
                blocked=user_totals.result().blocked,
                banned=user_totals.result().banned,
            ),
            by_status=by_status.result(),
            by_day=by_day.result(),
            ended=ended.result(),
            median=median.result(),
            ledger_all=ledger_all.result(),
            ledger_30d=ledger_30d.result(),
            captured_30d=captured_30d.result().credits,
            held=held.result().credits,
            costs=CostStats(last_30d=_lines(costs_30d.result()), all_time=_lines(costs_all.result())),
        )


def _snapshot(
    w: Windows,
    *,
    users: UserStats,
    by_status: dict[str, int],
    by_day: list[queries.DayRow],
    ended: list[EndedRow],
    median: queries.Median,
    ledger_all: Mapping[LedgerReason, queries.ReasonSum],
    ledger_30d: Mapping[LedgerReason, queries.ReasonSum],
    captured_30d: int,
    held: int,
    costs: CostStats,
) -> StatsSnapshot:
    statuses = {status.value: 0 for status in GenerationStatus} | by_status
    # Every hold ends captured, released or still held; that identity spares a join over all captures.
    captured_all = _amount(ledger_all, LedgerReason.HOLD) - _amount(ledger_all, LedgerReason.RELEASE) - held
    return StatsSnapshot(
        at=w.now,
        users=users,
        videos=VideoStats(by_status=statuses, total=sum(statuses.values()), by_day=_days(w, by_day)),
        credits=CreditStats(
            all_time=_credits(ledger_all, captured_all),
            last_30d=_credits(ledger_30d, captured_30d),
            held_now=held,
        ),
        failures=_failures(ended),
        costs=costs,
        time_to_video=TimeToVideo(median_seconds=median.seconds, videos=median.count),
    )


def _outcome(status: str, refunded: bool) -> str | None:
    """``done``, ``failed`` or None (still in progress) for a generation's status and refund flag."""
    if status == GenerationStatus.DELETED.value:
        return GenerationStatus.FAILED.value if refunded else GenerationStatus.DONE.value
    if status in (GenerationStatus.DONE.value, GenerationStatus.FAILED.value):
        return status
    return None


def _days(w: Windows, rows: list[queries.DayRow]) -> tuple[DayVideos, ...]:
    total: Counter[date] = Counter()
    ended: Counter[tuple[date, str | None]] = Counter()
    for row in rows:
        total[row.day] += row.count
        ended[row.day, _outcome(row.status, row.refunded)] += row.count
    done, failed = GenerationStatus.DONE.value, GenerationStatus.FAILED.value
    return tuple(DayVideos(day, total[day], ended[day, done], ended[day, failed]) for day in w.days)


def _amount(sums: Mapping[LedgerReason, queries.ReasonSum], reason: LedgerReason) -> int:
    found = sums.get(reason)
    return abs(found.credits) if found is not None else 0


def _credits(sums: Mapping[LedgerReason, queries.ReasonSum], captured: int) -> CreditTotals:
    by_reason = {reason.value: _amount(sums, reason) for reason in LedgerReason}
    by_reason[LedgerReason.CAPTURE.value] = captured
    refund = by_reason[LedgerReason.REFUND.value]
    return CreditTotals(
        issued=sum(by_reason[r.value] for r in ISSUED),
        spent=captured + by_reason[LedgerReason.LOOK_EDIT.value] - refund,
        returned=sum(by_reason[r.value] for r in RETURNED),
        revoked=by_reason[LedgerReason.ADMIN_REVOKE.value],
        by_reason=by_reason,
    )


def _failures(rows: list[EndedRow]) -> FailureStats:
    failed = GenerationStatus.FAILED.value
    finished = 0
    failed_at: Counter[str | None] = Counter()
    per_provider: Counter[str | None] = Counter()
    failed_per_provider: Counter[str | None] = Counter()
    for row in rows:
        outcome = _outcome(row.status, row.refunded)
        if outcome is None:
            continue
        finished += row.count
        per_provider[row.provider] += row.count
        if outcome == failed:
            failed_at[row.step] += row.count
            failed_per_provider[row.provider] += row.count
    by_step = tuple(
        StepFailures(step, count, count / finished)
        for step, count in sorted(failed_at.items(), key=lambda item: (-item[1], item[0] or ""))
    )
    by_provider = tuple(
        ProviderFailures(provider, count, failed_per_provider[provider])
        for provider, count in sorted(per_provider.items(), key=lambda item: (-item[1], item[0] or ""))
    )
    return FailureStats(
        finished=finished, failed=sum(failed_at.values()), by_step=by_step, by_provider=by_provider
    )


def _lines(rows: list[CostRow]) -> tuple[CostLine, ...]:
    return tuple(CostLine(r.provider, r.model, r.calls, r.units, r.usd_micros) for r in rows)
