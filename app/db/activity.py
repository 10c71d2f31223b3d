"""Batched writes of user activity (``users.updates_count``, ``users.last_seen_at``).

One ``UPDATE … CASE`` statement per chunk of users, all chunks in one transaction: a flush of any number of
users costs a handful of statements, and it is written whole or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

# Six parameters per user: far below SQLite's (32,766) and PostgreSQL's (32,767) limits per statement.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Seen:
    """What a flush adds to one user: ``count`` more updates, the latest of them at ``last``."""

    count: int
    last: datetime


async def add_activity(batch: Mapping[int, Seen]) -> int:
    """Add each user's count and move ``last_seen_at`` forward (never back); users without a row are
    skipped. Returns the number of users written."""
    if not batch:
        return 0
    users = sorted(batch.items())
    written = 0
    async with in_transaction() as conn:
        for start in range(0, len(users), CHUNK):
            chunk = users[start : start + CHUNK]
            sql, values = _update_sql(conn, chunk)
            changed, _ = await conn.execute_query(sql, values)
            written += changed
    return written


def _update_sql(conn: BaseDBAsyncClient, chunk: Sequence[tuple[int, Seen]]) -> tuple[str, list[object]]:
    postgres = conn.capabilities.dialect == "postgres"
    values: list[object] = []

    def param(value: object, cast: str = "") -> str:
        values.append(value)
        mark = f"${len(values)}" if postgres else "?"
        # PostgreSQL cannot infer a CASE result's type from bare parameters; SQLite needs no cast (and
        # its TIMESTAMP affinity would turn text into a number).
        return f"CAST({mark} AS {cast})" if postgres and cast else mark

    def stamp(moment: datetime) -> object:
        # SQLite keeps datetimes as Tortoise writes them, ISO text in UTC, so text order is time order.
        utc = moment.astimezone(UTC)
        return utc if postgres else utc.isoformat(" ")

    counts = " ".join(f"WHEN {param(uid)} THEN {param(seen.count, 'INTEGER')}" for uid, seen in chunk)
    lasts = " ".join(
        f'WHEN {param(uid)} THEN CASE WHEN "last_seen_at" < {param(stamp(seen.last), "TIMESTAMPTZ")} '
        f'THEN {param(stamp(seen.last), "TIMESTAMPTZ")} ELSE "last_seen_at" END'
        for uid, seen in chunk
    )
    ids = ", ".join(param(uid) for uid, _ in chunk)
    sql = (
        'UPDATE "users" SET '
        f'"updates_count" = "updates_count" + CASE "id" {counts} ELSE 0 END, '
        f'"last_seen_at" = CASE "id" {lasts} ELSE "last_seen_at" END '
        f'WHERE "id" IN ({ids})'
    )
    return sql, values
