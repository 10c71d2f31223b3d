"""Property: whatever credits, debits and replays happen, balance == sum of entries == cached balance ≥ 0."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db import ledger as queries
from app.db.models import LedgerEntry, User
from app.domain.credits import InsufficientCredits
from app.services.ledger import Ledger
from tests.fakes.services import FixedClock

# (kind, amount, key number): a replay reuses a key number an earlier step may have written.
operation = st.tuples(
    st.sampled_from(["credit", "debit", "replay"]),
    st.integers(min_value=1, max_value=120),
    st.integers(min_value=0, max_value=15),
)
_user_ids = itertools.count(1_000)


@pytest.mark.usefixtures("sqlite_db")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, max_size=25))
async def test_balance_always_equals_the_sum_of_the_ledger(operations: list[tuple[str, int, int]]) -> None:
    clock = FixedClock()
    ledger = Ledger(clock)
    uid = next(_user_ids)  # one database for every example, a fresh user per example
    await User.create(id=uid, locale="ru", created_at=clock.now(), last_seen_at=clock.now())
    written: dict[str, tuple[str, int]] = {}
    expected = 0

    for drawn, drawn_amount, number in operations:
        key = f"op:{uid}:{number}"
        if drawn == "replay" and key in written:
            kind, amount = written[key]
        elif drawn == "replay" or key in written:
            continue
        else:
            kind, amount = drawn, drawn_amount
        move = ledger.credit if kind == "credit" else ledger.debit
        reason = "admin_grant" if kind == "credit" else "hold"
        try:
            entry = await move(uid, amount, reason, key)
        except InsufficientCredits:
            assert kind == "debit" and amount > expected
            continue
        if not entry.replayed:
            written[key] = (kind, amount)
            expected += entry.delta
        assert entry.balance_after >= 0

    cached = await queries.cached_balance(uid)
    assert cached == expected == await queries.entries_sum(uid) >= 0
    assert await LedgerEntry.filter(user_id=uid).count() == len(written)
