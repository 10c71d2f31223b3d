"""The credits ledger on SQLite and PostgreSQL: atomic, idempotent, never below zero."""

from __future__ import annotations

import pytest

from app.db import ledger as queries
from app.db.models import LedgerEntry, User
from app.domain.credits import (
    IdempotencyConflict,
    InsufficientCredits,
    InvalidAmountError,
    InvalidReasonError,
    LedgerReason,
    UnknownUserError,
)
from app.services.ledger import Ledger
from tests.fakes.services import FixedClock

pytestmark = pytest.mark.usefixtures("db")


async def make_user(user_id: int, clock: FixedClock) -> int:
    await User.create(id=user_id, locale="ru", created_at=clock.now(), last_seen_at=clock.now())
    return user_id


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def ledger(clock: FixedClock) -> Ledger:
    return Ledger(clock)


async def assert_consistent(user_id: int) -> None:
    cached = await queries.cached_balance(user_id)
    assert cached == await queries.entries_sum(user_id)
    assert cached is not None and cached >= 0


async def test_credit_and_debit_move_the_balance_and_write_a_row_each(
    ledger: Ledger, clock: FixedClock
) -> None:
    uid = await make_user(1, clock)
    first = await ledger.credit(uid, 50, LedgerReason.WELCOME_BONUS, "welcome:1")
    second = await ledger.debit(uid, 20, LedgerReason.HOLD, "hold:gen-1", ref="gen-1", note="video")

    assert (first.delta, first.balance_after, first.replayed) == (50, 50, False)
    assert (second.delta, second.balance_after, second.ref, second.note) == (-20, 30, "gen-1", "video")
    assert await ledger.balance(uid) == 30
    assert await LedgerEntry.filter(user_id=uid).count() == 2
    assert second.created_at == clock.now()
    await assert_consistent(uid)


async def test_a_replayed_key_returns_the_first_result_and_changes_nothing(
    ledger: Ledger, clock: FixedClock
) -> None:
    uid = await make_user(2, clock)
    first = await ledger.credit(uid, 50, "welcome_bonus", "welcome:2")
    await ledger.debit(uid, 10, "hold", "hold:a")
    clock.advance(minutes=1)

    again = await ledger.credit(uid, 50, "welcome_bonus", "welcome:2")

    assert again.replayed is True
    assert (again.id, again.balance_after, again.created_at) == (first.id, 50, first.created_at)
    assert await ledger.balance(uid) == 40
    assert await LedgerEntry.filter(user_id=uid).count() == 2


async def test_replayed_debit_is_returned_even_when_the_balance_no_longer_covers_it(
    ledger: Ledger, clock: FixedClock
) -> None:
    uid = await make_user(3, clock)
    await ledger.credit(uid, 30, "admin_grant", "grant:1")
    await ledger.debit(uid, 30, "hold", "hold:1")

    replay = await ledger.debit(uid, 30, "hold", "hold:1")

    assert replay.replayed and replay.balance_after == 0
    assert await ledger.balance(uid) == 0


async def test_a_key_reused_for_a_different_movement_is_refused(ledger: Ledger, clock: FixedClock) -> None:
    uid = await make_user(4, clock)
    other = await make_user(5, clock)
    await ledger.credit(uid, 30, "admin_grant", "grant:x")

    with pytest.raises(IdempotencyConflict):
        await ledger.credit(uid, 31, "admin_grant", "grant:x")
    with pytest.raises(IdempotencyConflict):
        await ledger.credit(other, 30, "admin_grant", "grant:x")
    assert await ledger.balance(uid) == 30
    assert await ledger.balance(other) == 0


async def test_insufficient_credits_raise_and_write_nothing(ledger: Ledger, clock: FixedClock) -> None:
    uid = await make_user(6, clock)
    await ledger.credit(uid, 10, "admin_grant", "grant:6")

    with pytest.raises(InsufficientCredits) as info:
        await ledger.debit(uid, 11, "hold", "hold:6")

    assert (info.value.balance, info.value.requested) == (10, 11)
    assert await ledger.balance(uid) == 10
    assert not await LedgerEntry.filter(idempotency_key="hold:6").exists()
    # The refused key stays free: the same click can succeed once the user has the credits.
    await ledger.credit(uid, 1, "admin_grant", "grant:6b")
    assert (await ledger.debit(uid, 11, "hold", "hold:6")).balance_after == 0
    await assert_consistent(uid)


async def test_unknown_users_bad_amounts_and_wrong_reasons_are_refused(
    ledger: Ledger, clock: FixedClock
) -> None:
    uid = await make_user(7, clock)
    with pytest.raises(UnknownUserError):
        await ledger.credit(999, 10, "admin_grant", "grant:999")
    with pytest.raises(InvalidAmountError):
        await ledger.credit(uid, 0, "admin_grant", "grant:zero")
    with pytest.raises(InvalidAmountError):
        await ledger.debit(uid, -5, "hold", "hold:neg")
    with pytest.raises(InvalidReasonError):
        await ledger.credit(uid, 5, "hold", "hold:as-credit")
    with pytest.raises(InvalidReasonError):
        await ledger.debit(uid, 5, "welcome_bonus", "bonus:as-debit")
    with pytest.raises(InvalidReasonError):
        await ledger.credit(uid, 5, "gift", "gift:1")
    assert await LedgerEntry.all().count() == 0


async def test_history_is_newest_first_and_limited(ledger: Ledger, clock: FixedClock) -> None:
    uid = await make_user(8, clock)
    other = await make_user(9, clock)
    for i in range(12):
        clock.advance(minutes=1)
        await ledger.credit(uid, i + 1, "admin_grant", f"grant:8:{i}")
    await ledger.credit(other, 5, "admin_grant", "grant:9")

    history = await ledger.history(uid, 10)

    assert [e.delta for e in history] == list(range(12, 2, -1))
    assert all(e.user_id == uid and e.reason is LedgerReason.ADMIN_GRANT for e in history)
    assert history[0].balance_after == sum(range(1, 13))
    assert await ledger.history(404) == []
