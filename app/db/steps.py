"""Queries of the generation_steps table: one row per (generation, step), written by the worker only."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from app.db.models import GenerationStep
from app.domain.generations import MAX_ERROR_DETAIL
from app.domain.steps import Step, StepRecord, StepStatus, dump_output, load_output


def record(row: GenerationStep) -> StepRecord:
    return StepRecord(
        generation_id=row.generation_id,
        step=Step(row.step),
        status=StepStatus(row.status),
        request_id=row.request_id,
        output=load_output(row.output),
        attempts=row.attempts,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


async def all_of(generation_id: int) -> dict[Step, StepRecord]:
    rows = await GenerationStep.filter(generation_id=generation_id)
    return {Step(row.step): record(row) for row in rows}


async def get(generation_id: int, step: Step) -> StepRecord | None:
    row = await GenerationStep.filter(generation_id=generation_id, step=step.value).first()
    return None if row is None else record(row)


async def begin(generation_id: int, step: Step, now: datetime) -> StepRecord:
    """Count an attempt at ``step`` (creating its row on the first); a finished step is returned as is."""
    changed = await GenerationStep.filter(
        generation_id=generation_id, step=step.value, status=StepStatus.RUNNING.value
    ).update(attempts=F("attempts") + 1)
    if not changed:
        # IntegrityError: the step exists and is done (or another attempt created it just now).
        with contextlib.suppress(IntegrityError):
            await GenerationStep.create(
                generation_id=generation_id,
                step=step.value,
                status=StepStatus.RUNNING.value,
                attempts=1,
                started_at=now,
            )
    found = await get(generation_id, step)
    if found is None:  # pragma: no cover - the row was just written
        raise LookupError(f"step {step} of generation {generation_id} vanished")
    return found


async def give_back(generation_id: int, step: Step) -> None:
    """Uncount the attempt of a step that paused (waiting on a provider's webhook) rather than failed."""
    await GenerationStep.filter(
        generation_id=generation_id, step=step.value, status=StepStatus.RUNNING.value, attempts__gt=0
    ).update(attempts=F("attempts") - 1)


async def set_request(generation_id: int, step: Step, request_id: str) -> None:
    await GenerationStep.filter(generation_id=generation_id, step=step.value).update(request_id=request_id)


async def set_error(generation_id: int, step: Step, error: str) -> None:
    await GenerationStep.filter(generation_id=generation_id, step=step.value).update(
        error=error[:MAX_ERROR_DETAIL]
    )


async def finish(generation_id: int, step: Step, output: dict[str, Any], now: datetime) -> None:
    await GenerationStep.filter(generation_id=generation_id, step=step.value).update(
        status=StepStatus.DONE.value, output=dump_output(output), finished_at=now, error=None
    )
