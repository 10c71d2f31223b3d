"""``CostLedger``: every paid provider call with its estimated price, for the operators (admin stats).

Users never see these amounts; they pay in credits. A call is recorded once per provider request id, so a
step retried after a crash does not count a call twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from app.db import costs as queries
from app.db import stats as stats_queries
from app.db.costs import CostRow
from app.logs import get_logger
from app.services.clock import Clock
from app.services.providers import ProviderCost

log = get_logger(__name__)

Purpose = Literal["take", "look_edit", "backdrop", "video"]
MICROS = 1_000_000


class CostLedger:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def record(
        self,
        cost: ProviderCost | None,
        *,
        purpose: Purpose,
        user_id: int | None = None,
        generation_id: int | None = None,
    ) -> bool:
        """Record ``cost`` (None: nothing was paid, nothing recorded); False for a repeat of a known call.

        The ledger is bookkeeping: a database hiccup here is logged, never turned into a failed video.
        """
        if cost is None:
            return False
        try:
            added = await queries.add(
                provider=cost.provider,
                model=cost.model[:128],
                units=float(cost.units),
                unit=cost.unit[:16],
                usd_micros=round(cost.usd * MICROS),
                request_id=cost.request_id[:128] if cost.request_id else None,
                user_id=user_id,
                generation_id=generation_id,
                purpose=purpose,
                at=self._clock.now(),
            )
        except Exception as exc:  # bookkeeping must not fail the paid work it describes
            log.warning("cost ledger: a call was not recorded", provider=cost.provider, error=str(exc))
            return False
        log.info(
            "provider call",
            provider=cost.provider,
            model=cost.model,
            units=cost.units,
            unit=cost.unit,
            usd=round(cost.usd, 4),
            purpose=purpose,
            generation_id=generation_id,
        )
        return added

    async def totals(self, since: datetime | None = None) -> list[CostRow]:
        """Calls, units and dollars per provider and model since ``since`` (all time: None), biggest first:
        the admin stats' own query, tuned for both databases."""
        return await stats_queries.cost_totals(since)
