"""``Heartbeats``: one worker's sign of life for every generation it renders, one UPDATE per tick.

The reaper takes a running generation whose heartbeat is older than ``STALE_AFTER`` for one whose worker
died (kill -9, a lost machine) and frees its job, so another worker resumes it within a minute or two —
instead of waiting for arq's in-progress marker to expire with the job's whole time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from app.logs import get_logger
from app.services.generations import Generations

log = get_logger(__name__)


class Heartbeats:
    def __init__(self, generations: Generations, *, every: float = 10.0) -> None:
        self._generations = generations
        self._every = every
        self._alive: dict[int, int] = {}

    @contextlib.contextmanager
    def track(self, generation_id: int) -> Iterator[None]:
        self._alive[generation_id] = self._alive.get(generation_id, 0) + 1
        try:
            yield
        finally:
            left = self._alive.get(generation_id, 1) - 1
            if left:
                self._alive[generation_id] = left
            else:
                self._alive.pop(generation_id, None)

    @property
    def tracked(self) -> list[int]:
        return sorted(self._alive)

    async def beat(self) -> None:
        await self._generations.heartbeat_many(self.tracked)

    async def run(self) -> None:
        """Beat every ``every`` seconds until cancelled; a failed beat is logged, not fatal."""
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.beat()
            except Exception as exc:
                log.warning("heartbeat failed", error=str(exc))
