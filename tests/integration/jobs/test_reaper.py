"""The reaper against a real Redis and real arq: a dead worker's job is freed and another worker finishes it,
a job Redis lost is queued again, a generation past its deadline is refunded once, a live one is left be."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.asyncio import Redis

from app.db.models import Broadcast
from app.domain.generations import GenerationStatus
from app.jobs.queue import IN_PROGRESS_PREFIX, QUEUE_NAME, ArqJobQueue, broadcast_job_id, render_job_id
from app.jobs.scheduled import Reaper, ReaperReport, TempCleanup
from app.jobs.worker import WorkerConfig, WorkerParts, build_worker
from tests.integration.jobs.conftest import BOTH_DATABASES, TALKING_HEAD_COST, USER, World
from tests.integration.jobs.fakes import PENDING

STALE_AFTER = 90.0
DEADLINE = 3 * 3600.0


@pytest.fixture
async def pool(redis_url: str, redis: Redis) -> AsyncIterator[ArqRedis]:
    """An arq pool on the session's Redis, flushed by ``redis`` before and after the test."""
    arq = ArqRedis.from_url(redis_url)
    yield arq
    await arq.aclose()


@pytest.fixture
def queue(pool: ArqRedis) -> ArqJobQueue:
    return ArqJobQueue(pool)


def reaper(world: World, queue: ArqJobQueue, *, stale_after: float = STALE_AFTER) -> Reaper:
    return Reaper(
        generations=world.generations,
        queue=queue,
        pipeline=world.pipeline(),
        clock=world.clock,
        stale_after=stale_after,
        deadline=DEADLINE,
    )


def app_worker(world: World, pool: ArqRedis, queue: ArqJobQueue, tmp_path: Path, *, burst: bool) -> Worker:
    """A real arq worker of the app (``build_worker``); in burst mode it runs what is queued and stops."""
    parts = WorkerParts(
        pipeline=world.pipeline(),
        heartbeats=world.heartbeats,
        # Its own reaper ticks at start-up too; kept out of the way of the one the test drives.
        reaper=reaper(world, queue, stale_after=10 * DEADLINE),
        cleanup=TempCleanup(scratch_dir=tmp_path / "cleanup", storage_tmp=None),
        summary=None,
    )
    worker = build_worker(pool, parts, WorkerConfig(poll_delay=0.05, concurrency=5))
    worker.burst = burst
    return worker


async def run_burst(world: World, pool: ArqRedis, queue: ArqJobQueue, tmp_path: Path) -> None:
    await asyncio.wait_for(app_worker(world, pool, queue, tmp_path, burst=True).async_run(), 30)


async def stop(worker: Worker, task: asyncio.Task[None]) -> None:
    """Stop a worker as SIGTERM does (``worker_running``): jobs in progress are cancelled and stay queued."""
    worker.handle_sig(signal.SIGTERM)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)


async def in_progress(pool: ArqRedis, generation_id: int) -> bool:
    return bool(await pool.exists(IN_PROGRESS_PREFIX + render_job_id(generation_id)))


async def queued_ids(pool: ArqRedis) -> list[str]:
    return [job_id.decode() for job_id in await pool.zrange(QUEUE_NAME, 0, -1)]


async def dead_worker_left(world: World, pool: ArqRedis, queue: ArqJobQueue, generation_id: int) -> None:
    """What a worker killed mid-wait leaves: the job queued and marked in progress, the render requested,
    the generation running with its last heartbeat going stale."""
    await queue.enqueue(generation_id)
    world.video.collect_script = [PENDING, asyncio.CancelledError()]
    with pytest.raises(asyncio.CancelledError):
        await world.pipeline().run(generation_id)
    await pool.psetex(IN_PROGRESS_PREFIX + render_job_id(generation_id), 7_200_000, b"1")
    world.clock.advance(seconds=STALE_AFTER + 30)


async def test_enqueueing_a_generation_twice_makes_one_arq_job(pool: ArqRedis, queue: ArqJobQueue) -> None:
    await queue.enqueue(7)
    await queue.enqueue(7)
    await pool.psetex(IN_PROGRESS_PREFIX + render_job_id(7), 60_000, b"1")  # and while it runs
    await queue.enqueue(7)

    assert await queued_ids(pool) == ["generation:7"]
    assert len(await pool.queued_jobs(queue_name=QUEUE_NAME)) == 1
    assert await queue.has_job(7) and not await queue.has_job(8)


@BOTH_DATABASES
async def test_a_dead_workers_job_is_released_and_another_worker_finishes_it(
    world: World, pool: ArqRedis, queue: ArqJobQueue, tmp_path: Path
) -> None:
    await world.user()
    gid = await world.order(captions=False)
    await dead_worker_left(world, pool, queue, gid)

    # Without the reaper, arq will not start the job again while the dead worker's mark lasts (2 h).
    worker = app_worker(world, pool, queue, tmp_path, burst=False)
    task = asyncio.create_task(worker.async_run())
    await asyncio.sleep(1.0)
    assert (await world.info(gid)).attempts == 1 and world.delivery.received == []
    await stop(worker, task)

    report = await reaper(world, queue).run()

    assert report == ReaperReport(released=(gid,))
    assert not await in_progress(pool, gid) and await queue.has_job(gid), "freed, still queued"
    await run_burst(world, pool, queue, tmp_path)
    info = await world.info(gid)
    assert info.status == GenerationStatus.DONE and info.attempts == 2
    assert world.video.submit_calls == 1 and world.video.requests == ["req-1"], "resumed, not paid twice"
    assert len(world.delivery.received) == 1
    assert await world.movements() == [("hold", -TALKING_HEAD_COST), ("capture", 0)]
    assert not await queue.has_job(gid) and await queued_ids(pool) == []


async def test_a_generation_whose_job_redis_lost_is_queued_again_once(
    world: World, pool: ArqRedis, queue: ArqJobQueue, tmp_path: Path
) -> None:
    await world.user()
    queued = await world.order(captions=False)  # confirmed; the enqueue never reached Redis
    running = await world.order(captions=False)
    await dead_worker_left(world, pool, queue, running)
    await pool.flushdb()  # Redis restarted empty
    the_reaper = reaper(world, queue)

    assert await the_reaper.run() == ReaperReport(requeued=(queued, running))
    assert sorted(await queued_ids(pool)) == sorted([render_job_id(queued), render_job_id(running)])
    assert await the_reaper.run() == ReaperReport(), "already queued: nothing to do"

    await run_burst(world, pool, queue, tmp_path)
    assert [(await world.info(g)).status for g in (queued, running)] == [GenerationStatus.DONE] * 2
    assert world.video.requests == ["req-1", "req-2"], "the running one resumed its request"
    assert len(world.delivery.received) == 2


@BOTH_DATABASES
async def test_a_generation_past_its_deadline_is_failed_and_refunded_once(
    world: World, pool: ArqRedis, queue: ArqJobQueue
) -> None:
    await world.user()
    gid = await world.order()
    await dead_worker_left(world, pool, queue, gid)
    world.clock.advance(seconds=DEADLINE)
    the_reaper = reaper(world, queue)

    assert await the_reaper.run() == ReaperReport(failed=(gid,))
    assert await the_reaper.run() == ReaperReport()

    info = await world.info(gid)
    assert (info.status, info.error_reason, info.refunded) == (GenerationStatus.FAILED, "timeout", True)
    assert await world.movements() == [("hold", -TALKING_HEAD_COST), ("release", TALKING_HEAD_COST)]
    assert await world.balance() == 50
    [notice] = world.bot.to(USER)
    assert "the video was not finished in time" in notice
    # The job arq still holds runs to nothing when it comes.
    await world.pipeline().run(gid)
    assert world.video.submit_calls == 1 and len(world.bot.to(USER)) == 1


async def test_a_generation_out_of_attempts_is_failed(world: World, queue: ArqJobQueue) -> None:
    await world.user()
    gid = await world.order()
    for _ in range(5):
        await world.generations.take_up(gid)
    world.clock.advance(seconds=STALE_AFTER + 1)

    assert await reaper(world, queue).run() == ReaperReport(failed=(gid,))
    assert (await world.info(gid)).status == GenerationStatus.FAILED
    assert await world.balance() == 50


async def test_live_generations_are_left_alone(world: World, pool: ArqRedis, queue: ArqJobQueue) -> None:
    await world.user()
    running = await world.order()
    waiting = await world.order()
    for gid in (running, waiting):
        await queue.enqueue(gid)
    await world.generations.take_up(running)
    await pool.psetex(IN_PROGRESS_PREFIX + render_job_id(running), 7_200_000, b"1")
    world.clock.advance(seconds=STALE_AFTER - 10)
    with world.heartbeats.track(running):
        await world.heartbeats.beat()
    world.clock.advance(seconds=20)  # the queued one is now old, but its job waits in the queue

    assert await reaper(world, queue).run() == ReaperReport()
    assert await in_progress(pool, running)
    assert [(await world.info(g)).status for g in (running, waiting)] == [
        GenerationStatus.RUNNING,
        GenerationStatus.QUEUED,
    ]
    assert await world.movements() == [("hold", -TALKING_HEAD_COST)] * 2


async def test_the_worker_stopping_mid_job_leaves_it_queued_for_the_next_one(
    world: World, pool: ArqRedis, queue: ArqJobQueue, tmp_path: Path
) -> None:
    """SIGTERM during a render: arq keeps the job, the generation stays held; the next worker resumes it."""
    await world.user()
    gid = await world.order(captions=False)
    await queue.enqueue(gid)
    waiting = asyncio.Event()

    async def stall() -> None:
        waiting.set()
        await asyncio.Event().wait()

    world.video.on_collect = stall
    worker = app_worker(world, pool, queue, tmp_path, burst=False)
    task = asyncio.create_task(worker.async_run())
    await asyncio.wait_for(waiting.wait(), 30)
    await stop(worker, task)

    assert await queue.has_job(gid) and not await in_progress(pool, gid)
    info = await world.info(gid)
    assert info.status == GenerationStatus.RUNNING and not info.refunded
    world.video.on_collect = None
    await run_burst(world, pool, queue, tmp_path)
    assert (await world.info(gid)).status == GenerationStatus.DONE
    assert world.video.submit_calls == 1 and len(world.delivery.received) == 1


async def test_a_broadcast_whose_sender_died_is_freed_for_another_worker(
    world: World, pool: ArqRedis, queue: ArqJobQueue
) -> None:
    now = world.clock.now()
    dead = await Broadcast.create(admin_id=1, text="hi", status="sending", created_at=now, heartbeat_at=now)
    alive = await Broadcast.create(admin_id=1, text="hi", status="sending", created_at=now, heartbeat_at=now)
    lost = await Broadcast.create(admin_id=1, text="hi", status="queued", created_at=now)
    done = await Broadcast.create(admin_id=1, text="hi", status="done", created_at=now)
    for row in (dead, alive):
        await queue.enqueue_broadcast(row.id)
        # A sender marked the job running; the first one was SIGKILLed and its mark stays for a day.
        await pool.psetex(IN_PROGRESS_PREFIX + broadcast_job_id(row.id), 86_400_000, b"1")
    world.clock.advance(seconds=STALE_AFTER + 30)
    await Broadcast.filter(id=alive.id).update(heartbeat_at=world.clock.now())  # still beating

    report = await reaper(world, queue).run()

    assert sorted(report.broadcasts) == sorted([dead.id, lost.id])
    assert not await pool.exists(IN_PROGRESS_PREFIX + broadcast_job_id(dead.id)), "another worker may take it"
    assert await pool.exists(IN_PROGRESS_PREFIX + broadcast_job_id(alive.id)), "a live sender is left be"
    assert await queue.has_broadcast_job(lost.id) and not await queue.has_broadcast_job(done.id)
