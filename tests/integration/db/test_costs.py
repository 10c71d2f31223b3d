"""The operators' cost ledger on both databases: one row per paid call, totals per provider and model."""

from __future__ import annotations

from datetime import timedelta

from app.db.models import ProviderCall
from app.services.costs import CostLedger
from app.services.providers import ProviderCost
from tests.fakes.services import FixedClock

SPEECH = ProviderCost("elevenlabs", "eleven_multilingual_v2", 120, "characters", 0.036, "el-1")
VIDEO = ProviderCost("fal", "fal-ai/bytedance/omnihuman/v1.5", 12.5, "seconds", 2.0, "fal-1")


async def test_every_paid_call_is_one_row_even_when_recorded_again(db: str) -> None:
    ledger = CostLedger(FixedClock())

    assert await ledger.record(SPEECH, purpose="take", user_id=7)
    assert await ledger.record(VIDEO, purpose="video", user_id=7, generation_id=3)
    # The video step retried after a crash reports the same fal request again: still one call.
    assert not await ledger.record(VIDEO, purpose="video", user_id=7, generation_id=3)
    assert not await ledger.record(None, purpose="take", user_id=7), "a reused take cost nothing"

    rows = await ProviderCall.all().order_by("id")
    assert [(r.provider, r.purpose, r.user_id, r.generation_id) for r in rows] == [
        ("elevenlabs", "take", 7, None),
        ("fal", "video", 7, 3),
    ]
    assert rows[1].usd_micros == 2_000_000 and rows[1].units == 12.5


async def test_totals_sum_calls_units_and_dollars_per_model_biggest_spend_first(db: str) -> None:
    clock = FixedClock()
    ledger = CostLedger(clock)
    for n in range(3):
        await ledger.record(ProviderCost("fal", "nano", 1, "images", 0.039, f"img-{n}"), purpose="look_edit")
    await ledger.record(VIDEO, purpose="video", generation_id=1)
    await ledger.record(ProviderCost("elevenlabs", "m", 10, "characters", 0.003, None), purpose="take")
    await ledger.record(ProviderCost("elevenlabs", "m", 30, "characters", 0.009, None), purpose="take")

    rows = await ledger.totals()
    assert [(r.provider, r.model, r.calls, r.units, r.usd_micros) for r in rows] == [
        ("fal", VIDEO.model, 1, 12.5, 2_000_000),
        ("fal", "nano", 3, 3.0, 117_000),
        ("elevenlabs", "m", 2, 40.0, 12_000),
    ]
    clock.advance(seconds=3600)
    await ledger.record(ProviderCost("fal", "nano", 1, "images", 0.039, "late"), purpose="look_edit")
    recent = await ledger.totals(since=clock.now() - timedelta(minutes=1))
    assert [(r.model, r.calls) for r in recent] == [("nano", 1)]
