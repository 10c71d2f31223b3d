"""The in-process job queue: each id runs once, early ids wait for the queue, stopping is graceful."""

from __future__ import annotations

import asyncio

from app.jobs.queue import LocalJobQueue


async def test_an_id_runs_once_however_often_it_is_enqueued() -> None:
    ran: list[int] = []

    async def job(generation_id: int) -> None:
        ran.append(generation_id)

    queue = LocalJobQueue()
    async with queue.running(job):
        for generation_id in (1, 2, 1, 1, 2):
            await queue.enqueue(generation_id)
        await queue.wait_idle()
        await queue.enqueue(1)  # already done
        await queue.wait_idle()

    assert sorted(ran) == [1, 2]


async def test_ids_enqueued_before_the_queue_runs_wait_for_it() -> None:
    ran: list[int] = []

    async def job(generation_id: int) -> None:
        ran.append(generation_id)

    queue = LocalJobQueue()
    await queue.enqueue(7)
    assert ran == []
    async with queue.running(job):
        await queue.wait_idle()

    assert ran == [7]


async def test_a_crashing_job_does_not_stop_the_others() -> None:
    ran: list[int] = []

    async def job(generation_id: int) -> None:
        if generation_id == 1:
            raise RuntimeError("bug")
        ran.append(generation_id)

    queue = LocalJobQueue()
    async with queue.running(job):
        await queue.enqueue(1)
        await queue.enqueue(2)
        await queue.wait_idle()

    assert ran == [2]


async def test_stopping_waits_for_short_jobs_and_cancels_stuck_ones() -> None:
    finished: list[int] = []
    cancelled: list[int] = []

    async def job(generation_id: int) -> None:
        try:
            await asyncio.sleep(0.01 if generation_id == 1 else 60)
            finished.append(generation_id)
        except asyncio.CancelledError:
            cancelled.append(generation_id)
            raise

    queue = LocalJobQueue(stop_grace=0.2)
    async with queue.running(job):
        await queue.enqueue(1)
        await queue.enqueue(2)

    assert finished == [1] and cancelled == [2]
    assert queue.active == 0
