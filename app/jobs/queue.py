"""``LocalJobQueue``: the in-process ``JobQueue`` — each id runs once, in a task group the runtime owns.

Issue 5 replaces it with arq workers; until then a confirmed generation renders inside the bot process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from app.logs import get_logger

log = get_logger(__name__)

Job = Callable[[int], Awaitable[None]]
# How long stopping waits for jobs in progress before cancelling them.
STOP_GRACE_SECONDS = 20.0


class LocalJobQueue:
    """Runs ``job(generation_id)`` once per id; ids enqueued before :meth:`running` wait for it."""

    def __init__(self, *, stop_grace: float = STOP_GRACE_SECONDS) -> None:
        self._stop_grace = stop_grace
        self._seen: set[int] = set()
        self._pending: list[int] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._job: Job | None = None
        self._group: asyncio.TaskGroup | None = None

    async def enqueue(self, generation_id: int) -> None:
        """Run the generation's job; a no-op if this id is already queued, running or done."""
        if generation_id in self._seen:
            return
        self._seen.add(generation_id)
        if self._group is None:
            self._pending.append(generation_id)
        else:
            self._spawn(generation_id)

    @property
    def active(self) -> int:
        """Jobs running right now."""
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Until no job runs (tests, and a graceful stop)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    @contextlib.asynccontextmanager
    async def running(self, job: Job) -> AsyncIterator[LocalJobQueue]:
        """Run jobs with ``job`` until the block exits; then wait a grace period and cancel what is left."""
        if self._group is not None:
            raise RuntimeError("the queue is already running")
        self._job = job
        async with asyncio.TaskGroup() as group:
            self._group = group
            for generation_id in self._pending:
                self._spawn(generation_id)
            self._pending.clear()
            try:
                yield self
            finally:
                await self._stop()
                self._group = None

    def _spawn(self, generation_id: int) -> None:
        assert self._group is not None and self._job is not None
        task = self._group.create_task(
            self._run(self._job, generation_id), name=f"generation-{generation_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job, generation_id: int) -> None:
        try:
            await job(generation_id)
        except Exception:
            # The pipeline reports its own failures; this only keeps one job's bug from cancelling the others.
            log.exception("generation job crashed", generation_id=generation_id)

    async def _stop(self) -> None:
        if not self._tasks:
            return
        log.info("waiting for generation jobs to finish", count=len(self._tasks))
        _, still_running = await asyncio.wait(set(self._tasks), timeout=self._stop_grace)
        for task in still_running:
            task.cancel()
        if still_running:
            log.warning("generation jobs cancelled at shutdown", count=len(still_running))
            await asyncio.wait(still_running)
