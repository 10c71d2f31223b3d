"""``StepLog``: what the pipeline records of each step, so a retried job resumes instead of redoing work."""

from __future__ import annotations

from typing import Any

from app.db import steps as queries
from app.domain.steps import Step, StepRecord
from app.services.clock import Clock


class StepLog:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def all_of(self, generation_id: int) -> dict[Step, StepRecord]:
        return await queries.all_of(generation_id)

    async def get(self, generation_id: int, step: Step) -> StepRecord | None:
        return await queries.get(generation_id, step)

    async def begin(self, generation_id: int, step: Step) -> StepRecord:
        """Count one more attempt at ``step``; a step already done comes back unchanged."""
        return await queries.begin(generation_id, step, self._clock.now())

    async def give_back(self, generation_id: int, step: Step) -> None:
        """The attempt paused (the worker parked the job until the provider's webhook): it does not count."""
        await queries.give_back(generation_id, step)

    async def set_request(self, generation_id: int, step: Step, request_id: str) -> None:
        """The provider's id of the request this step waits on; written before waiting."""
        await queries.set_request(generation_id, step, request_id)

    async def set_error(self, generation_id: int, step: Step, error: str) -> None:
        await queries.set_error(generation_id, step, error)

    async def finish(self, generation_id: int, step: Step, output: dict[str, Any]) -> None:
        await queries.finish(generation_id, step, output, self._clock.now())
