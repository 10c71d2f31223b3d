"""The credits ledger: the only way credits move. Each movement is one transaction and one row."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.db import ledger as queries
from app.db.models import LedgerEntry
from app.domain.credits import (
    MAX_NOTE_LENGTH,
    MAX_REF_LENGTH,
    Credits,
    IdempotencyConflict,
    LedgerEntryInfo,
    LedgerReason,
    UnknownUserError,
    apply_delta,
    audit_reason,
    signed_delta,
    validate_key,
)
from app.services.clock import Clock


class Ledger:
    """Credits and debits, each with a reason and an idempotency key.

    A movement locks the user's row, writes the entry and the cached balance in one transaction. Replaying a
    key returns the entry written the first time and changes nothing; a debit beyond the balance raises
    ``InsufficientCredits`` and writes nothing.

    The ``*_in`` methods do the same inside a transaction the caller already holds (``conn``), so that a
    movement and the caller's own rows (a generation) commit or roll back together.
    """

    def __init__(self, clock: Clock, *, on_moved: Callable[[str, int], None] | None = None) -> None:
        """``on_moved(reason, delta)`` hears of every movement written (not of replays): metrics."""
        self._clock = clock
        self._on_moved = on_moved

    async def credit(
        self,
        user_id: int,
        amount: Credits,
        reason: LedgerReason | str,
        key: str,
        *,
        note: str | None = None,
        ref: str | None = None,
    ) -> LedgerEntryInfo:
        """Add ``amount`` credits."""
        delta = signed_delta(amount, reason, credit=True)
        return await self._post(user_id, delta=delta, reason=reason, key=key, note=note, ref=ref)

    async def debit(
        self,
        user_id: int,
        amount: Credits,
        reason: LedgerReason | str,
        key: str,
        *,
        note: str | None = None,
        ref: str | None = None,
    ) -> LedgerEntryInfo:
        """Take ``amount`` credits, or raise ``InsufficientCredits``."""
        delta = signed_delta(amount, reason, credit=False)
        return await self._post(user_id, delta=delta, reason=reason, key=key, note=note, ref=ref)

    async def credit_in(
        self,
        conn: BaseDBAsyncClient,
        user_id: int,
        amount: Credits,
        reason: LedgerReason | str,
        key: str,
        *,
        note: str | None = None,
        ref: str | None = None,
    ) -> LedgerEntryInfo:
        """``credit`` inside the caller's transaction."""
        delta = signed_delta(amount, reason, credit=True)
        return await self._post_in(conn, user_id, **_checked(delta, reason, key, note, ref))

    async def debit_in(
        self,
        conn: BaseDBAsyncClient,
        user_id: int,
        amount: Credits,
        reason: LedgerReason | str,
        key: str,
        *,
        note: str | None = None,
        ref: str | None = None,
    ) -> LedgerEntryInfo:
        """``debit`` inside the caller's transaction."""
        delta = signed_delta(amount, reason, credit=False)
        return await self._post_in(conn, user_id, **_checked(delta, reason, key, note, ref))

    async def record_in(
        self,
        conn: BaseDBAsyncClient,
        user_id: int,
        reason: LedgerReason | str,
        key: str,
        *,
        note: str | None = None,
        ref: str | None = None,
    ) -> LedgerEntryInfo:
        """Write a zero-delta audit row (a capture) inside the caller's transaction; the balance stays."""
        parsed = audit_reason(reason)
        return await self._post_in(conn, user_id, **_checked(0, parsed, key, note, ref))

    async def entry(self, key: str, conn: BaseDBAsyncClient | None = None) -> LedgerEntryInfo | None:
        """The row written under ``key``, if any."""
        found = await queries.entry_by_key(conn, key)
        return None if found is None else queries.entry_info(found)

    async def balance(self, user_id: int) -> Credits:
        balance = await queries.cached_balance(user_id)
        if balance is None:
            raise UnknownUserError(user_id)
        return balance

    async def history(self, user_id: int, limit: int = 10) -> list[LedgerEntryInfo]:
        """The user's newest movements first."""
        return [queries.entry_info(e) for e in await queries.recent_entries(user_id, limit)]

    async def _post(
        self,
        user_id: int,
        *,
        delta: Credits,
        reason: LedgerReason | str,
        key: str,
        note: str | None,
        ref: str | None,
    ) -> LedgerEntryInfo:
        checked = _checked(delta, reason, key, note, ref)
        try:
            return await self._post_once(user_id, checked)
        except IntegrityError:
            # The same key was committed by a movement of another user between our check and our insert (the
            # row lock only orders movements of one user). Now the check sees it and reports the conflict.
            return await self._post_once(user_id, checked)

    async def _post_once(self, user_id: int, checked: _Movement) -> LedgerEntryInfo:
        async with in_transaction() as conn:
            return await self._post_in(conn, user_id, **checked)

    async def _post_in(
        self,
        conn: BaseDBAsyncClient,
        user_id: int,
        *,
        delta: Credits,
        reason: LedgerReason,
        key: str,
        note: str | None,
        ref: str | None,
    ) -> LedgerEntryInfo:
        # Locking again in a transaction that already holds the lock is harmless on both dialects.
        balance = await queries.lock_balance(conn, user_id)
        if balance is None:
            raise UnknownUserError(user_id)
        # Looked up after taking the lock: a concurrent movement with this key has committed by now.
        existing = await queries.entry_by_key(conn, key)
        if existing is not None:
            return _replay(existing, user_id, delta, reason)
        after = apply_delta(user_id, balance, delta)
        entry = await queries.insert_entry(
            conn,
            user_id=user_id,
            delta=delta,
            reason=reason,
            key=key,
            balance_after=after,
            created_at=self._clock.now(),
            note=note,
            ref=ref,
        )
        if self._on_moved is not None:
            self._on_moved(reason.value, delta)
        return queries.entry_info(entry)


class _Movement(TypedDict):
    delta: Credits
    reason: LedgerReason
    key: str
    note: str | None
    ref: str | None


def _checked(
    delta: Credits, reason: LedgerReason | str, key: str, note: str | None, ref: str | None
) -> _Movement:
    return {
        "delta": delta,
        "reason": LedgerReason(reason),
        "key": validate_key(key),
        "note": None if note is None else note[:MAX_NOTE_LENGTH],
        "ref": None if ref is None else ref[:MAX_REF_LENGTH],
    }


def _replay(existing: LedgerEntry, user_id: int, delta: Credits, reason: LedgerReason) -> LedgerEntryInfo:
    info = queries.entry_info(existing, replayed=True)
    if (info.user_id, info.delta, info.reason) != (user_id, delta, reason):
        detail = f"user {info.user_id}, {info.delta:+d} ({info.reason.value})"
        raise IdempotencyConflict(info.idempotency_key, detail)
    return info
