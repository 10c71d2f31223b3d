"""The arq worker of UGC Bot: generation jobs, free previews and the scheduled tasks, in any number of
processes (``python -m app worker``) on any machines that share Redis, the database and object storage."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from arq.cron import cron
from arq.worker import Retry, Worker, func

from app.jobs.heartbeat import Heartbeats
from app.jobs.pipeline import Pipeline
from app.jobs.queue import BROADCAST, PREVIEW, QUEUE_NAME, RENDER, ArqJobQueue
from app.jobs.scheduled import DailySummary, Reaper, TempCleanup
from app.logs import get_logger

log = get_logger(__name__)

Preview = Callable[[int, dict[str, Any]], Awaitable[None]]
Broadcast = Callable[[int], Awaitable[None]]
# A broadcast to many users at ~25 messages a second takes hours; a stopped one resumes where it was.
BROADCAST_TIMEOUT = 24 * 3600


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    concurrency: int = 50
    job_timeout: int = 7200
    reaper_interval: int = 30
    summary_hour: int = 9
    cleanup_minute: int = 17
    queue_name: str = QUEUE_NAME
    poll_delay: float = 1.0


@dataclass
class WorkerParts:
    pipeline: Pipeline
    heartbeats: Heartbeats
    reaper: Reaper
    cleanup: TempCleanup
    summary: DailySummary | None
    preview: Preview | None = None
    queue: ArqJobQueue | None = None
    """Wake-ups of parked generations (see ``ArqJobQueue.wake``)."""
    broadcast: Broadcast | None = None
    """Sends one admin broadcast (``BroadcastSender.run``)."""


def build_worker(pool: ArqRedis, parts: WorkerParts, config: WorkerConfig) -> Worker:
    """An arq Worker over ``pool`` (not started). Signals are the caller's: see :func:`worker_running`."""

    async def render(ctx: dict[str, Any], generation_id: int) -> None:
        while True:
            wait = await parts.pipeline.run(generation_id)
            if wait is None:
                return
            # Parked until the provider's webhook: unless it already came, the job steps aside and arq runs it
            # again after ``wait`` seconds, or at once when the webhook moves it up the queue.
            if parts.queue is None or not await parts.queue.take_wake(generation_id):
                raise Retry(defer=wait)

    async def preview(ctx: dict[str, Any], user_id: int, draft: dict[str, Any]) -> None:
        if parts.preview is not None:
            await parts.preview(user_id, draft)

    async def broadcast(ctx: dict[str, Any], broadcast_id: int) -> None:
        if parts.broadcast is not None:
            await parts.broadcast(broadcast_id)

    async def reap(ctx: dict[str, Any]) -> None:
        await parts.reaper.run()

    async def cleanup(ctx: dict[str, Any]) -> None:
        await parts.cleanup.run()

    async def summary(ctx: dict[str, Any]) -> None:
        if parts.summary is not None:
            await parts.summary.run()

    every = config.reaper_interval
    if every < 60:
        reaper_cron = cron(reap, name="reaper", second=set(range(0, 60, every)), run_at_startup=True)
    else:
        reaper_cron = cron(reap, name="reaper", minute=set(range(0, 60, max(1, every // 60))), second=0)
    crons = [
        reaper_cron,
        cron(cleanup, name="temp_cleanup", minute=config.cleanup_minute, second=0),
    ]
    if parts.summary is not None:
        crons.append(cron(summary, name="daily_summary", hour=config.summary_hour, minute=0, second=0))
    return Worker(
        functions=[
            # max_tries: the pipeline counts and bounds its own attempts (see Pipeline.max_take_ups).
            func(render, name=RENDER, timeout=config.job_timeout, keep_result=0, max_tries=1000),
            func(preview, name=PREVIEW, timeout=300, keep_result=0, max_tries=2),
            # max_tries: every restart of a worker is a try; the broadcast's rows make a rerun resume it.
            func(broadcast, name=BROADCAST, timeout=BROADCAST_TIMEOUT, keep_result=0, max_tries=1000),
        ],
        cron_jobs=crons,
        redis_pool=pool,
        queue_name=config.queue_name,
        max_jobs=config.concurrency,
        job_timeout=config.job_timeout,
        keep_result=0,
        poll_delay=config.poll_delay,
        handle_signals=False,
        health_check_interval=60,
        health_check_key=f"{config.queue_name}:health-check",
    )


@contextlib.asynccontextmanager
async def worker_running(worker: Worker, heartbeats: Heartbeats) -> AsyncIterator[Worker]:
    """Run the worker (and its heartbeats) in the background until the block exits; then jobs in progress
    are cancelled — arq queues them again and they resume at their first unfinished step."""
    task = asyncio.create_task(worker.async_run(), name="arq-worker")
    beats = asyncio.create_task(heartbeats.run(), name="heartbeats")
    try:
        yield worker
    finally:
        beats.cancel()
        worker.handle_sig(signal.SIGTERM)
        # Also when the stop comes before arq's main loop began (handle_sig cancels only a started one).
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(asyncio.CancelledError):
            await beats
        # Waits for the cancelled jobs to unwind; the pool is the runtime's and stays open.
        await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
        log.info("worker stopped", complete=worker.jobs_complete, failed=worker.jobs_failed)
