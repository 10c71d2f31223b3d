"""Property: whatever confirms, deliveries, failures and look edits happen, in any order and repeated, the
balance equals the sum of the ledger and the cached balance, never goes below zero, and every generation is
held and then at most once either captured or released — matching a plain model of the rules."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db import ledger as ledger_queries
from app.db.models import Generation, LedgerEntry, User
from app.domain.credits import IdempotencyConflict, InsufficientCredits, LedgerReason
from app.domain.generations import GenerationStateError, GenerationStatus, LookEditLimit, TooManyActive
from app.services.generations import Generations
from app.services.ledger import Ledger
from tests.fakes.services import FixedClock
from tests.integration.db.test_generations import PRICING, make_draft

ACTIVE = {GenerationStatus.QUEUED, GenerationStatus.RUNNING}

confirm = st.tuples(
    st.just("confirm"), st.integers(0, 6), st.booleans(), st.sampled_from([1.0, 5.0, 5.01, 14.2, 30.0])
)
progress = st.tuples(st.sampled_from(["start", "complete", "fail"]), st.integers(0, 9))
# Confirms and progress twice over: they are what most sequences need to reach every status.
operation = st.one_of(
    confirm,
    confirm,
    progress,
    progress,
    st.tuples(st.sampled_from(["charge", "refund"]), st.integers(0, 1), st.integers(1, 3)),
    st.tuples(st.just("grant"), st.integers(1, 40)),
)
_user_ids = itertools.count(10_000)


@dataclass
class Model:
    """The rules, restated without a database."""

    balance: int
    generations: dict[int, tuple[GenerationStatus, int]] = field(default_factory=dict)
    confirmed: dict[str, int] = field(default_factory=dict)
    charged: set[tuple[int, int]] = field(default_factory=set)
    refunded: set[tuple[int, int]] = field(default_factory=set)

    def active(self) -> int:
        return sum(status in ACTIVE for status, _ in self.generations.values())

    def kept_edits(self, draft: int) -> int:
        return sum(d == draft for d, _ in self.charged - self.refunded)


@pytest.mark.usefixtures("sqlite_db")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start_balance=st.integers(0, 150), operations=st.lists(operation, min_size=6, max_size=40))
async def test_generations_keep_the_ledger_whole(
    start_balance: int, operations: list[tuple[object, ...]]
) -> None:
    clock = FixedClock()
    ledger = Ledger(clock)
    generations = Generations(ledger, PRICING, clock)
    uid = next(_user_ids)  # one database for every example, a fresh user per example
    await User.create(id=uid, locale="ru", created_at=clock.now(), last_seen_at=clock.now())
    if start_balance:
        await ledger.credit(uid, start_balance, LedgerReason.ADMIN_GRANT, f"start:{uid}")
    model = Model(balance=start_balance)
    grants = itertools.count()

    for op in operations:
        match op:
            case ("confirm", int(number), bool(background), float(seconds)):
                await _confirm(
                    generations, model, uid, f"p:{uid}:{number}", background=background, seconds=seconds
                )
            case ("start" | "complete" | "fail" as kind, int(index)):
                if model.generations:
                    gid = sorted(model.generations)[index % len(model.generations)]
                    await _progress(generations, model, str(kind), gid)
            case ("charge" | "refund" as kind, int(draft), int(attempt)):
                await _look_edit(generations, model, uid, str(kind), draft=draft, attempt=attempt)
            case ("grant", int(amount)):
                await ledger.credit(uid, amount, LedgerReason.ADMIN_GRANT, f"grant:{uid}:{next(grants)}")
                model.balance += amount
        assert await ledger.balance(uid) == model.balance >= 0

    assert await ledger_queries.cached_balance(uid) == await ledger_queries.entries_sum(uid) == model.balance
    for gid, (status, cost) in model.generations.items():
        row = await Generation.get(id=gid)
        assert (row.status, row.cost, row.refunded) == (status.value, cost, status == GenerationStatus.FAILED)
        moves = {e.reason: e.delta for e in await LedgerEntry.filter(ref=str(gid))}
        expected = {"hold": -cost}
        if status == GenerationStatus.DONE:
            expected["capture"] = 0
        elif status == GenerationStatus.FAILED:
            expected["release"] = cost
        assert moves == expected
        assert await LedgerEntry.filter(ref=str(gid)).count() == len(expected)


async def _confirm(
    generations: Generations, model: Model, uid: int, key: str, *, background: bool, seconds: float
) -> None:
    draft = make_draft(uid, seconds=seconds, background=background)
    cost = PRICING.quote(draft.format or "talking_head", seconds).total
    if key in model.confirmed:
        result = await generations.confirm(draft, key=key)
        assert (result.generation_id, result.created) == (model.confirmed[key], False)
    elif model.active() >= PRICING.max_active_generations:
        with pytest.raises(TooManyActive):
            await generations.confirm(draft, key=key)
    elif model.balance < cost:
        with pytest.raises(InsufficientCredits):
            await generations.confirm(draft, key=key)
    else:
        result = await generations.confirm(draft, key=key)
        assert (result.created, result.cost) == (True, cost)
        model.confirmed[key] = result.generation_id
        model.generations[result.generation_id] = (GenerationStatus.QUEUED, cost)
        model.balance -= cost


async def _progress(generations: Generations, model: Model, kind: str, gid: int) -> None:
    status, cost = model.generations[gid]
    if kind == "start":
        if status in ACTIVE:
            await generations.start(gid, "speech")
            model.generations[gid] = (GenerationStatus.RUNNING, cost)
        else:
            with pytest.raises(GenerationStateError):
                await generations.start(gid, "speech")
        return
    target = GenerationStatus.DONE if kind == "complete" else GenerationStatus.FAILED
    finish = (
        generations.complete(gid, video_key="v.mp4", audio_key="a.ogg")
        if kind == "complete"
        else generations.fail(gid, "errors.render")
    )
    if status in ACTIVE or status == target:
        assert (await finish).status == target
        if status in ACTIVE:
            model.generations[gid] = (target, cost)
            model.balance += cost if target == GenerationStatus.FAILED else 0
    else:
        with pytest.raises(GenerationStateError):
            await finish


async def _look_edit(
    generations: Generations, model: Model, uid: int, kind: str, *, draft: int, attempt: int
) -> None:
    draft_id = f"u{uid}d{draft}"
    edit = (draft, attempt)
    price = PRICING.look_edit
    if kind == "refund":
        returned = await generations.refund_look_edit(uid, draft_id, attempt)
        assert returned == (price if edit in model.charged else 0)
        if edit in model.charged and edit not in model.refunded:
            model.refunded.add(edit)
            model.balance += price
    elif edit in model.refunded:
        with pytest.raises(IdempotencyConflict):
            await generations.charge_look_edit(uid, draft_id, attempt)
    elif edit in model.charged:
        assert await generations.charge_look_edit(uid, draft_id, attempt) == price
    elif model.kept_edits(draft) >= PRICING.max_look_edits:
        with pytest.raises(LookEditLimit):
            await generations.charge_look_edit(uid, draft_id, attempt)
    elif model.balance < price:
        with pytest.raises(InsufficientCredits):
            await generations.charge_look_edit(uid, draft_id, attempt)
    else:
        assert await generations.charge_look_edit(uid, draft_id, attempt) == price
        model.charged.add(edit)
        model.balance -= price
