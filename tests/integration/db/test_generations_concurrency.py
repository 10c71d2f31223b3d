"""Racing clicks and racing workers: one generation per key, never past the limit, one settlement each."""

from __future__ import annotations

import asyncio

import pytest

from app.db import ledger as ledger_queries
from app.db.models import Generation, LedgerEntry
from app.domain.credits import InsufficientCredits
from app.domain.generations import ConfirmResult, GenerationInfo, GenerationStateError, TooManyActive
from app.services.generations import Generations
from app.services.ledger import Ledger
from tests.fakes.services import FixedClock
from tests.integration.db.test_generations import PRICING, TALKING_HEAD_COST, funded_user, make_draft

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(FixedClock())


@pytest.fixture
def generations(ledger: Ledger) -> Generations:
    return Generations(ledger, PRICING, FixedClock())


async def test_twenty_concurrent_confirms_with_one_key_make_one_generation_and_one_hold(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 1, 100)
    draft = make_draft(uid)

    results = await asyncio.gather(*(generations.confirm(draft, key="confirm:burst") for _ in range(20)))

    assert sum(r.created for r in results) == 1
    assert {r.generation_id for r in results} == {results[0].generation_id}
    assert await Generation.filter(user_id=uid).count() == 1
    assert await LedgerEntry.filter(user_id=uid, reason="hold").count() == 1
    assert await ledger.balance(uid) == await ledger_queries.entries_sum(uid) == 100 - TALKING_HEAD_COST


async def test_concurrent_confirms_with_different_keys_stop_at_the_limit_and_the_balance(
    generations: Generations, ledger: Ledger
) -> None:
    rich = await funded_user(ledger, 2, 1000)
    poor = await funded_user(ledger, 3, TALKING_HEAD_COST + 5)

    rich_outcomes = await asyncio.gather(
        *(generations.confirm(make_draft(rich), key=f"rich:{i}") for i in range(10)), return_exceptions=True
    )
    poor_outcomes = await asyncio.gather(
        *(generations.confirm(make_draft(poor), key=f"poor:{i}") for i in range(10)), return_exceptions=True
    )

    assert sum(isinstance(o, ConfirmResult) for o in rich_outcomes) == PRICING.max_active_generations
    assert all(isinstance(o, ConfirmResult | TooManyActive) for o in rich_outcomes), rich_outcomes
    assert sum(isinstance(o, ConfirmResult) for o in poor_outcomes) == 1
    assert all(isinstance(o, ConfirmResult | InsufficientCredits) for o in poor_outcomes), poor_outcomes
    assert await ledger.balance(rich) == 1000 - 2 * TALKING_HEAD_COST
    assert await ledger.balance(poor) == 5
    for uid in (rich, poor):
        assert await ledger.balance(uid) == await ledger_queries.entries_sum(uid)


async def test_a_racing_delivery_and_failure_settle_the_generation_exactly_once(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 4, 100)
    ids = [(await generations.confirm(make_draft(uid), key=f"race:{n}")).generation_id for n in range(2)]

    for gid in ids:
        outcomes = await asyncio.gather(
            *(
                generations.complete(gid, video_key="v.mp4", audio_key="a.ogg")
                if n % 2
                else generations.fail(gid, "errors.render")
                for n in range(6)
            ),
            return_exceptions=True,
        )
        finished = [o for o in outcomes if isinstance(o, GenerationInfo)]
        refused = [o for o in outcomes if isinstance(o, GenerationStateError)]
        assert len(finished) + len(refused) == 6, outcomes
        assert len({o.status for o in finished}) == 1  # everyone who got through saw the same outcome
        settlements = await LedgerEntry.filter(ref=str(gid), reason__in=["capture", "release"]).count()
        assert settlements == 1

    balance = await ledger.balance(uid)
    assert balance == await ledger_queries.entries_sum(uid)
    released = await LedgerEntry.filter(user_id=uid, reason="release").count()
    assert balance == 100 - (2 - released) * TALKING_HEAD_COST
