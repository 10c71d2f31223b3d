"""Aggregates of the admin stats screen: each one statement over an indexed time range, or an all-time total.

Raw SQL rather than the ORM: conditional counts (``FILTER``), day buckets, a look-up by idempotency key and
a median are written differently on SQLite and PostgreSQL and are out of the ORM's reach. Every query is
built as a ``Statement`` first, so that tests EXPLAIN exactly the SQL that runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from app.db.costs import CostRow
from app.db.setup import Dialect, connection
from app.domain.credits import AUDIT_REASONS, LedgerReason, hold_key
from app.domain.generations import ACTIVE_STATUSES

DAYS_SHOWN = 14
# A capture row's ``ref`` is its generation's id; the hold it captured has the key ``hold:<id>``.
HOLD_KEY_PREFIX = hold_key(0).removesuffix("0")
# The reasons that move credits: capture rows (zero delta, one per delivered video) would only be read for
# nothing; what a capture stands for is counted by ``captured``.
MOVING_REASONS = tuple(r for r in LedgerReason if r not in AUDIT_REASONS)
# Above this many (provider, model) pairs SQLite's all-time cost totals group by sorting after all.
MAX_FILTERED_MODELS = 50
VIDEO_PURPOSE = "video"  # the cost ledger's purpose of the call that rendered the talking video

_ACTIVE = tuple(sorted(s.value for s in ACTIVE_STATUSES))
WindowColumn = Literal["created_at", "last_seen_at"]


@dataclass(frozen=True, slots=True)
class Windows:
    """The time boundaries of one snapshot: "today" starts at midnight UTC, the others are rolling."""

    now: datetime
    today: datetime
    last_7d: datetime
    last_30d: datetime
    first_day: date
    """The oldest of the ``DAYS_SHOWN`` days of the by-day table (today is the newest)."""

    @classmethod
    def at(cls, now: datetime) -> Windows:
        now = now.astimezone(UTC)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(
            now=now,
            today=today,
            last_7d=now - timedelta(days=7),
            last_30d=now - timedelta(days=30),
            first_day=today.date() - timedelta(days=DAYS_SHOWN - 1),
        )

    @property
    def days(self) -> tuple[date, ...]:
        return tuple(self.first_day + timedelta(days=n) for n in range(DAYS_SHOWN))

    @property
    def days_since(self) -> datetime:
        return datetime.combine(self.first_day, datetime.min.time(), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Statement:
    """One query with ``?`` placeholders; ``render`` turns them into the dialect's own."""

    sql: str
    params: tuple[Any, ...] = ()

    def render(self, dialect: Dialect) -> tuple[str, list[Any]]:
        if dialect == "sqlite":
            return self.sql, [_sqlite_param(value) for value in self.params]
        head, *rest = self.sql.split("?")
        return head + "".join(f"${n}{part}" for n, part in enumerate(rest, start=1)), list(self.params)


def _sqlite_param(value: Any) -> Any:
    # Tortoise stores SQLite datetimes as UTC text in ``isoformat(" ")``; text compares in time order only
    # when the bound is written the same way.
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(" ")
    return value


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


@dataclass(frozen=True, slots=True)
class WindowCounts:
    today: int
    last_7d: int
    last_30d: int


@dataclass(frozen=True, slots=True)
class UserTotals:
    total: int
    blocked: int
    banned: int


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    status: str
    refunded: bool
    count: int


@dataclass(frozen=True, slots=True)
class EndedRow:
    """Generations of one (step, status, refunded, provider) created in the window, ended or not."""

    step: str | None
    status: str
    refunded: bool
    provider: str | None
    count: int


@dataclass(frozen=True, slots=True)
class ReasonSum:
    credits: int
    rows: int


@dataclass(frozen=True, slots=True)
class Median:
    seconds: float | None
    count: int


# --- statements ----------------------------------------------------------------------------------------


def user_totals_sql() -> Statement:
    return Statement(
        "SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE blocked_at IS NOT NULL) AS blocked, "
        "COUNT(*) FILTER (WHERE is_banned) AS banned FROM users"
    )


def window_counts_sql(column: WindowColumn, w: Windows) -> Statement:
    """Users by ``created_at`` (new) or ``last_seen_at`` (active): one range scan of that column's index."""
    if column not in ("created_at", "last_seen_at"):
        raise ValueError(f"no window over users.{column}")
    return Statement(
        f"SELECT COUNT(*) FILTER (WHERE {column} >= ?) AS today, "
        f"COUNT(*) FILTER (WHERE {column} >= ?) AS last_7d, "
        f"COUNT(*) AS last_30d FROM users WHERE {column} >= ?",
        (w.today, w.last_7d, w.last_30d),
    )


def videos_by_status_sql() -> Statement:
    return Statement("SELECT status, COUNT(*) AS n FROM generations GROUP BY status")


def _day(column: str, dialect: Dialect) -> str:
    if dialect == "postgres":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"substr({column}, 1, 10)"  # stored as UTC text, "YYYY-MM-DD HH:MM:SS…"


def videos_by_day_sql(w: Windows, dialect: Dialect) -> Statement:
    return Statement(
        f"SELECT {_day('created_at', dialect)} AS day, status, refunded, COUNT(*) AS n FROM generations "
        "WHERE created_at >= ? GROUP BY 1, 2, 3",
        (w.days_since,),
    )


def ended_sql(since: datetime) -> Statement:
    """Generations created since ``since`` with the step they are at and their video's provider.

    Those still in progress come back too (a few rows): a status filter here would tempt SQLite, which keeps
    no statistics, into reading every done generation through the status index instead of the window.
    """
    return Statement(
        "SELECT step, status, refunded, provider, COUNT(*) AS n FROM ("
        " SELECT g.step AS step, g.status AS status, g.refunded AS refunded,"
        "  COALESCE(g.video_provider, (SELECT MIN(pc.provider) FROM provider_calls pc"
        "   WHERE pc.generation_id = g.id AND pc.purpose = ?)) AS provider"
        " FROM generations g WHERE g.created_at >= ?"
        ") ended GROUP BY step, status, refunded, provider",
        (VIDEO_PURPOSE, since),
    )


def time_to_video_sql(since: datetime, dialect: Dialect) -> Statement:
    """The median of ``finished_at - created_at`` of the delivered videos confirmed since ``since``."""
    if dialect == "postgres":
        done = "(status = 'done' OR (status = 'deleted' AND NOT refunded))"
        return Statement(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY finished_at - created_at) AS median, "
            f"COUNT(*) AS n FROM generations WHERE created_at >= ? AND finished_at IS NOT NULL AND {done}",
            (since,),
        )
    # SQLite has no percentile: the middle one or two of the sorted durations. Its planner, with no
    # statistics, would read every done video through the status index; the unary plus keeps it on the
    # created_at range.
    done = "(+status = 'done' OR (+status = 'deleted' AND NOT refunded))"
    return Statement(
        "WITH durations AS MATERIALIZED ("
        "SELECT (julianday(finished_at) - julianday(created_at)) * 86400.0 AS s "
        f"FROM generations WHERE created_at >= ? AND finished_at IS NOT NULL AND {done}), "
        "counted AS (SELECT COUNT(*) AS n FROM durations) "
        "SELECT (SELECT AVG(s) FROM (SELECT s FROM durations ORDER BY s "
        "LIMIT 2 - (SELECT n FROM counted) % 2 OFFSET ((SELECT n FROM counted) - 1) / 2)) AS median, "
        "(SELECT n FROM counted) AS n",
        (since,),
    )


def ledger_sums_sql(
    reasons: Iterable[LedgerReason], dialect: Dialect, since: datetime | None = None
) -> Statement:
    """Credits and rows per reason; with ``since``, one range of the (reason, created_at) index per reason.

    Over all time it reads the whole table: through that index (on SQLite, which has no statistics to know
    better, unless the unary plus stops it) every row would cost a second look-up, four times slower.
    """
    values = tuple(sorted(r.value for r in reasons))
    if since is None:
        reason = "+reason" if dialect == "sqlite" else "reason"
        return Statement(
            "SELECT reason, COALESCE(SUM(delta), 0) AS credits, COUNT(*) AS n FROM ledger_entries "
            f"WHERE {reason} IN ({_marks(values)}) GROUP BY {reason}",
            values,
        )
    return Statement(
        "SELECT reason, COALESCE(SUM(delta), 0) AS credits, COUNT(*) AS n FROM ledger_entries "
        f"WHERE reason IN ({_marks(values)}) AND created_at >= ? GROUP BY reason",
        (*values, since),
    )


def captured_sql(since: datetime) -> Statement:
    """Credits of the holds captured (videos delivered) since ``since``; a capture finds its hold by key.

    A scalar subquery rather than a join: it is always one probe of the key's unique index per capture,
    where a join may be planned as a hash of every hold ever written.
    """
    return Statement(
        "SELECT COALESCE(SUM((SELECT -h.delta FROM ledger_entries h WHERE h.idempotency_key = ? || c.ref)),"
        " 0) AS credits, COUNT(*) AS n FROM ledger_entries c WHERE c.reason = ? AND c.created_at >= ?",
        (HOLD_KEY_PREFIX, LedgerReason.CAPTURE.value, since),
    )


def cost_totals_sql(dialect: Dialect, since: datetime | None = None) -> Statement:
    """Calls, units and micro-dollars per provider and model (what ``CostLedger.totals`` answers).

    For a window on SQLite the grouping terms carry a unary plus: otherwise it walks the whole
    (provider, request_id) index for its order instead of reading the window from the created_at index.
    """
    window = " WHERE created_at >= ?" if since is not None else ""
    group = "+provider, +model" if dialect == "sqlite" and since is not None else "provider, model"
    return Statement(
        "SELECT provider, model, COUNT(*) AS calls, COALESCE(SUM(units), 0) AS units, "
        f"COALESCE(SUM(usd_micros), 0) AS usd_micros FROM provider_calls{window} GROUP BY {group}",
        (since,) if since is not None else (),
    )


def cost_models_sql() -> Statement:
    """Every (provider, model) pair of the cost ledger: a few, found without sorting the whole table."""
    return Statement("SELECT DISTINCT +provider AS provider, +model AS model FROM provider_calls")


def cost_sums_sql(models: Sequence[tuple[str, str]]) -> Statement:
    """All-time totals of the given pairs in one pass over the table, one filtered aggregate each.

    SQLite groups by sorting every row (0.3 s for 300,000 calls); counting into a few known groups skips it.
    """
    columns = ", ".join(
        f"COUNT(*) FILTER (WHERE {match}) AS calls_{n}, "
        f"COALESCE(SUM(units) FILTER (WHERE {match}), 0) AS units_{n}, "
        f"COALESCE(SUM(usd_micros) FILTER (WHERE {match}), 0) AS usd_micros_{n}"
        for n, match in enumerate("provider = ? AND model = ?" for _ in models)
    )
    # Each pair is matched three times (calls, units, dollars), in the order of the columns.
    params = tuple(value for pair in models for _ in range(3) for value in pair)
    return Statement(f"SELECT {columns} FROM provider_calls", params)


def held_sql() -> Statement:
    """Credits held right now by videos still queued or rendering (the status index finds them)."""
    return Statement(
        "SELECT COALESCE(SUM(cost), 0) AS credits, COUNT(*) AS n FROM generations "
        f"WHERE status IN ({_marks(_ACTIVE)})",
        _ACTIVE,
    )


def windowed_statements(w: Windows, dialect: Dialect) -> dict[str, Statement]:
    """Every statement limited to a time window: each must be answered from an index, never a full scan."""
    return {
        "new users": window_counts_sql("created_at", w),
        "active users": window_counts_sql("last_seen_at", w),
        "videos by day": videos_by_day_sql(w, dialect),
        "ended videos": ended_sql(w.last_30d),
        "time to video": time_to_video_sql(w.last_30d, dialect),
        "credits, 30 d": ledger_sums_sql(MOVING_REASONS, dialect, w.last_30d),
        "captured, 30 d": captured_sql(w.last_30d),
        "held now": held_sql(),
        "costs, 30 d": cost_totals_sql(dialect, w.last_30d),
    }


# --- running them -------------------------------------------------------------------------------------


def dialect() -> Dialect:
    name = connection().capabilities.dialect
    if name not in ("sqlite", "postgres"):
        raise RuntimeError(f"admin stats have no SQL for {name!r}")
    return "sqlite" if name == "sqlite" else "postgres"


async def rows(statement: Statement) -> list[dict[str, Any]]:
    conn = connection()
    sql, params = statement.render(dialect())
    return await conn.execute_query_dict(sql, params)


async def user_totals() -> UserTotals:
    (row,) = await rows(user_totals_sql())
    return UserTotals(total=int(row["total"]), blocked=int(row["blocked"]), banned=int(row["banned"]))


async def window_counts(column: WindowColumn, w: Windows) -> WindowCounts:
    (row,) = await rows(window_counts_sql(column, w))
    return WindowCounts(today=int(row["today"]), last_7d=int(row["last_7d"]), last_30d=int(row["last_30d"]))


async def videos_by_status() -> dict[str, int]:
    return {str(row["status"]): int(row["n"]) for row in await rows(videos_by_status_sql())}


async def videos_by_day(w: Windows) -> list[DayRow]:
    return [
        DayRow(
            day=date.fromisoformat(str(row["day"])),
            status=str(row["status"]),
            refunded=bool(row["refunded"]),
            count=int(row["n"]),
        )
        for row in await rows(videos_by_day_sql(w, dialect()))
    ]


async def ended(since: datetime) -> list[EndedRow]:
    return [
        EndedRow(
            step=None if row["step"] is None else str(row["step"]),
            status=str(row["status"]),
            refunded=bool(row["refunded"]),
            provider=None if row["provider"] is None else str(row["provider"]),
            count=int(row["n"]),
        )
        for row in await rows(ended_sql(since))
    ]


async def time_to_video(since: datetime) -> Median:
    (row,) = await rows(time_to_video_sql(since, dialect()))
    median = row["median"]
    if isinstance(median, timedelta):  # PostgreSQL's percentile of intervals
        median = median.total_seconds()
    return Median(seconds=None if median is None else float(median), count=int(row["n"]))


async def ledger_sums(
    since: datetime | None = None, reasons: Iterable[LedgerReason] = MOVING_REASONS
) -> dict[LedgerReason, ReasonSum]:
    found = await rows(ledger_sums_sql(reasons, dialect(), since))
    return {LedgerReason(row["reason"]): ReasonSum(int(row["credits"]), int(row["n"])) for row in found}


async def captured(since: datetime) -> ReasonSum:
    (row,) = await rows(captured_sql(since))
    return ReasonSum(int(row["credits"]), int(row["n"]))


async def held() -> ReasonSum:
    (row,) = await rows(held_sql())
    return ReasonSum(int(row["credits"]), int(row["n"]))


async def cost_totals(since: datetime | None = None) -> list[CostRow]:
    """Calls, units and micro-dollars per provider and model since ``since``: biggest spend first."""
    if since is None and dialect() == "sqlite":
        found = await _sqlite_cost_totals()
    else:
        found = [_cost_row(row) for row in await rows(cost_totals_sql(dialect(), since))]
    return sorted(found, key=lambda row: (-row.usd_micros, row.provider, row.model))


async def _sqlite_cost_totals() -> list[CostRow]:
    models = [(str(row["provider"]), str(row["model"])) for row in await rows(cost_models_sql())]
    if not models:
        return []
    if len(models) > MAX_FILTERED_MODELS:  # a statement that wide is slower than the sort it avoids
        return [_cost_row(row) for row in await rows(cost_totals_sql("sqlite"))]
    (row,) = await rows(cost_sums_sql(models))
    return [
        CostRow(
            provider=provider,
            model=model,
            calls=int(row[f"calls_{n}"]),
            units=float(row[f"units_{n}"]),
            usd_micros=int(row[f"usd_micros_{n}"]),
        )
        for n, (provider, model) in enumerate(models)
    ]


def _cost_row(row: dict[str, Any]) -> CostRow:
    return CostRow(
        provider=str(row["provider"]),
        model=str(row["model"]),
        calls=int(row["calls"]),
        units=float(row["units"]),
        usd_micros=int(row["usd_micros"]),
    )
