"""Queries of the credits ledger. Callers pass the transaction's connection where a row lock matters."""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.functions import Sum

from app.db.models import LedgerEntry, User
from app.domain.credits import Credits, LedgerEntryInfo, LedgerReason


async def lock_balance(conn: BaseDBAsyncClient, user_id: int) -> Credits | None:
    """The user's cached balance, with the row locked until the transaction ends; None for an unknown user."""
    if conn.capabilities.support_for_update:
        user = await User.select_for_update().using_db(conn).get_or_none(id=user_id)
        return None if user is None else user.balance
    # SQLite has no row locks. A no-op write takes the database's write lock now (waiting out another process
    # for the busy timeout) instead of at the first real write, where a stale read snapshot fails at once.
    touched = await User.filter(id=user_id).using_db(conn).update(balance=F("balance"))
    if not touched:
        return None
    return await _balance_of(user_id, conn)


async def entry_by_key(conn: BaseDBAsyncClient | None, key: str) -> LedgerEntry | None:
    return await LedgerEntry.filter(idempotency_key=key).using_db(conn).first()


async def insert_entry(
    conn: BaseDBAsyncClient,
    *,
    user_id: int,
    delta: Credits,
    reason: LedgerReason,
    key: str,
    balance_after: Credits,
    created_at: datetime,
    note: str | None,
    ref: str | None,
) -> LedgerEntry:
    """Insert one entry and set the user's cached balance to ``balance_after``."""
    entry = await LedgerEntry.create(
        using_db=conn,
        user_id=user_id,
        delta=delta,
        reason=reason.value,
        idempotency_key=key,
        balance_after=balance_after,
        created_at=created_at,
        note=note,
        ref=ref,
    )
    await User.filter(id=user_id).using_db(conn).update(balance=balance_after)
    return entry


async def cached_balance(user_id: int) -> Credits | None:
    return await _balance_of(user_id, None)


async def _balance_of(user_id: int, conn: BaseDBAsyncClient | None) -> Credits | None:
    row = await User.filter(id=user_id).using_db(conn).first().values("balance")
    return None if row is None else int(row["balance"])


async def entries_sum(user_id: int) -> Credits:
    """The sum of every entry of the user: what the cached balance must equal."""
    row = await LedgerEntry.filter(user_id=user_id).annotate(total=Sum("delta")).first().values("total")
    return int(row["total"] or 0) if row else 0


async def recent_entries(user_id: int, limit: int) -> list[LedgerEntry]:
    """The user's newest entries first."""
    return await LedgerEntry.filter(user_id=user_id).order_by("-id").limit(limit)


def entry_info(entry: LedgerEntry, *, replayed: bool = False) -> LedgerEntryInfo:
    return LedgerEntryInfo(
        id=entry.id,
        user_id=entry.user_id,
        delta=entry.delta,
        reason=LedgerReason(entry.reason),
        idempotency_key=entry.idempotency_key,
        balance_after=entry.balance_after,
        created_at=entry.created_at,
        note=entry.note,
        ref=entry.ref,
        replayed=replayed,
    )
