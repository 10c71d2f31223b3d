"""Concurrent movements: one row per key, and never an overdraft, whatever interleaving the database picks."""

from __future__ import annotations

import asyncio

import pytest

from app.db import ledger as queries
from app.db.models import LedgerEntry, User
from app.domain.credits import IdempotencyConflict, InsufficientCredits, LedgerEntryInfo
from app.services.ledger import Ledger
from tests.fakes.services import FixedClock

pytestmark = pytest.mark.usefixtures("db")


async def funded_user(ledger: Ledger, user_id: int, credits: int) -> int:
    now = FixedClock().now()
    await User.create(id=user_id, locale="ru", created_at=now, last_seen_at=now)
    await ledger.credit(user_id, credits, "admin_grant", f"fund:{user_id}")
    return user_id


async def test_twenty_concurrent_debits_with_one_key_write_one_row() -> None:
    ledger = Ledger(FixedClock())
    uid = await funded_user(ledger, 1, 100)

    results = await asyncio.gather(*(ledger.debit(uid, 30, "hold", "hold:click-1") for _ in range(20)))

    assert sum(not r.replayed for r in results) == 1
    assert {r.id for r in results} == {results[0].id}
    assert await LedgerEntry.filter(idempotency_key="hold:click-1").count() == 1
    assert await ledger.balance(uid) == 70
    assert await queries.entries_sum(uid) == 70


async def test_concurrent_debits_with_different_keys_never_overdraw() -> None:
    ledger = Ledger(FixedClock())
    uid = await funded_user(ledger, 2, 100)

    outcomes = await asyncio.gather(
        *(ledger.debit(uid, 15, "hold", f"hold:{i}") for i in range(20)), return_exceptions=True
    )

    done = [o for o in outcomes if isinstance(o, LedgerEntryInfo)]
    refused = [o for o in outcomes if isinstance(o, InsufficientCredits)]
    assert len(done) == 6 and len(refused) == 14, outcomes
    assert sorted(e.balance_after for e in done) == [10, 25, 40, 55, 70, 85]
    assert await ledger.balance(uid) == 10
    assert await queries.entries_sum(uid) == 10


async def test_one_key_raced_by_two_users_goes_to_one_of_them() -> None:
    ledger = Ledger(FixedClock())
    first = await funded_user(ledger, 3, 50)
    second = await funded_user(ledger, 4, 50)

    outcomes = await asyncio.gather(
        ledger.debit(first, 10, "hold", "hold:shared"),
        ledger.debit(second, 10, "hold", "hold:shared"),
        return_exceptions=True,
    )

    assert sorted(type(o).__name__ for o in outcomes) == ["IdempotencyConflict", "LedgerEntryInfo"]
    assert any(isinstance(o, IdempotencyConflict) for o in outcomes)
    assert sorted([await ledger.balance(first), await ledger.balance(second)]) == [40, 50]
