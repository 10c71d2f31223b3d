"""Queries of the cost ledger (``provider_calls``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError

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


async def of_generation(generation_id: int) -> list[ProviderCall]:
    return await ProviderCall.filter(generation_id=generation_id).order_by("id")
