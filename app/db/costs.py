"""Queries of the cost ledger (``provider_calls``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count, Sum

from app.db.models import ProviderCall


@dataclass(frozen=True, slots=True)
class CostRow:
    provider: str
    model: str
    calls: int
    units: float
    usd_micros: int


async def add(
    *,
    provider: str,
    model: str,
    units: float,
    unit: str,
    usd_micros: int,
    request_id: str | None,
    user_id: int | None,
    generation_id: int | None,
    purpose: str,
    at: datetime,
) -> bool:
    """Insert one call; False when this provider's request id is already recorded."""
    try:
        await ProviderCall.create(
            provider=provider,
            model=model,
            units=units,
            unit=unit,
            usd_micros=usd_micros,
            request_id=request_id,
            user_id=user_id,
            generation_id=generation_id,
            purpose=purpose,
            created_at=at,
        )
    except IntegrityError:
        return False
    return True


async def totals(since: datetime | None = None, until: datetime | None = None) -> list[CostRow]:
    """Calls, units and USD per provider and model, biggest spend first."""
    query = ProviderCall.all()
    if since is not None:
        query = query.filter(created_at__gte=since)
    if until is not None:
        query = query.filter(created_at__lt=until)
    rows = (
        await query.annotate(calls=Count("id"), units_sum=Sum("units"), usd_sum=Sum("usd_micros"))
        .group_by("provider", "model")
        .values("provider", "model", "calls", "units_sum", "usd_sum")
    )
    result = [
        CostRow(
            provider=str(row["provider"]),
            model=str(row["model"]),
            calls=int(row["calls"]),
            units=float(row["units_sum"] or 0),
            usd_micros=int(row["usd_sum"] or 0),
        )
        for row in rows
    ]
    return sorted(result, key=lambda row: (-row.usd_micros, row.provider, row.model))


async def of_generation(generation_id: int) -> list[ProviderCall]:
    return await ProviderCall.filter(generation_id=generation_id).order_by("id")
