"""Renders reported by webhook: the job parks instead of polling, a verified webhook wakes it, a repeated or
misdirected webhook does nothing, and parking never counts as a worker dying."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis

from app.db.models import ProviderCall
from app.domain.generations import GenerationStatus
from app.domain.steps import Step
from app.jobs.queue import QUEUE_NAME, ArqJobQueue, render_job_id
from app.jobs.scheduled import Reaper, TempCleanup
from app.jobs.wakeups import RenderWakeups
from app.jobs.worker import WorkerConfig, WorkerParts, build_worker
from app.services.costs import CostLedger
from app.services.fal.queue import FalRequest
from app.services.fal.webhook import FalWebhookEvent
from app.services.providers import ProviderCost, RenderedVideo
from tests.integration.jobs.conftest import TALKING_HEAD_COST, USER, World
from tests.integration.jobs.fakes import PENDING, ScriptedVideoMaker

PARK = 60.0


@dataclass
class FalShapedVideo(ScriptedVideoMaker):
    """Request ids as the fal adapter stores them (the request and its URLs), and a price per render."""

    async def submit(self, image: Path, speech: Path, *, workdir: Path, reference: str = "") -> str:
        plain = await super().submit(image, speech, workdir=workdir, reference=reference)
        base = f"http://fal.test/fal-ai/x/requests/{plain}"
        return FalRequest("fal-ai/x", plain, f"{base}/status", base, f"{base}/cancel").dumps()

    async def collect(self, request_id: str, *, workdir: Path) -> RenderedVideo | None:
        video = await super().collect(request_id, workdir=workdir)
        if video is None:
            return None
        plain = FalRequest.loads(request_id).request_id
        cost = ProviderCost("fal", "fal-ai/x", video.duration, "seconds", video.duration * 0.16, plain)
        return RenderedVideo(video.path, video.duration, video.width, video.height, "fal", cost)


@pytest.fixture
def fal_world(world: World) -> World:
    world.video = FalShapedVideo(world.clip)
    return world


@pytest.fixture
async def pool(redis_url: str, redis: Redis) -> AsyncIterator[ArqRedis]:
    arq = ArqRedis.from_url(redis_url)
    yield arq
    await arq.aclose()


def event(request_id: str, status: str = "OK") -> FalWebhookEvent:
    return FalWebhookEvent(request_id, f"gw-{request_id}", status, {"video": {"url": "x"}})  # type: ignore[arg-type]


async def test_a_render_reported_by_webhook_parks_the_job_without_counting_it_as_a_death(
    fal_world: World,
) -> None:
    world = fal_world
    await world.user()
    gid = await world.order(captions=False)
    world.video.collect_script = [PENDING] * 8
    pipeline = world.pipeline(park_after=PARK, costs=CostLedger(world.clock))

    waits = []
    for _ in range(8):  # a long render: eight fallback polls, each one a separate run of the job
        waits.append(await pipeline.run(gid))
        info = await world.info(gid)
        assert info.status == GenerationStatus.RUNNING and info.attempts == 0, "a park is not a death"
        assert info.heartbeat_at == world.clock.now() + timedelta(seconds=PARK), "reaper kept away meanwhile"
        world.clock.advance(seconds=PARK)

    assert waits == [PARK] * 8 and world.sleeps.delays == [], "no poll loop held a worker"
    video_step = next(row for row in await world.step_rows(gid) if row.step == Step.VIDEO.value)
    assert video_step.attempts == 0, "parking does not use up the step's retries"

    assert await pipeline.run(gid) is None
    info = await world.info(gid)
    assert info.status == GenerationStatus.DONE and world.video.submit_calls == 1
    assert len(world.delivery.received) == 1
    assert await world.movements() == [("hold", -TALKING_HEAD_COST), ("capture", 0)]
    [call] = await ProviderCall.filter(generation_id=gid)
    assert (call.provider, call.unit, call.request_id) == ("fal", "seconds", "req-1")
    assert call.usd_micros == 320_000, "2 s at $0.16/s, recorded once for the generation"


async def test_a_verified_webhook_wakes_the_parked_job_at_once_and_a_repeat_does_nothing(
    fal_world: World, pool: ArqRedis, redis: Redis, tmp_path: Path
) -> None:
    world = fal_world
    await world.user()
    gid = await world.order(captions=False)
    world.video.collect_script = [PENDING]
    queue = ArqJobQueue(pool)
    pipeline = world.pipeline(park_after=3600.0)  # without the webhook it would wait an hour
    parts = WorkerParts(
        pipeline=pipeline,
        heartbeats=world.heartbeats,
        reaper=Reaper(world.generations, queue, pipeline, world.clock, stale_after=10**6, deadline=10**6),
        cleanup=TempCleanup(scratch_dir=tmp_path / "cleanup", storage_tmp=None),
        summary=None,
        queue=queue,
    )
    worker = build_worker(pool, parts, WorkerConfig(poll_delay=0.05, concurrency=2))
    task = asyncio.create_task(worker.async_run())
    try:
        await queue.enqueue(gid)
        await _until(lambda: _parked(pool, gid))
        assert (await world.info(gid)).status == GenerationStatus.RUNNING and world.delivery.received == []
        wakeups = RenderWakeups(redis, world.steps, queue)

        # Someone else's request, and a made-up reference: neither wakes anything.
        assert not await wakeups.on_fal_event(event("req-999"), {"ref": f"g{gid}"})
        assert not await wakeups.on_fal_event(event("req-1"), {"ref": "g999999"})
        assert not await wakeups.on_fal_event(event("req-1"), {})
        assert await _parked(pool, gid)

        assert await wakeups.on_fal_event(event("req-1"), {"ref": f"g{gid}"})
        assert not await wakeups.on_fal_event(event("req-1"), {"ref": f"g{gid}"}), "delivered twice: once"
        await _until(lambda: _done(world, gid))
    finally:
        worker.handle_sig(15)
        task.cancel()
        await asyncio.gather(task, *worker.tasks.values(), return_exceptions=True)
    assert world.video.submit_calls == 1, "woken, not resubmitted"
    assert len(world.video.collected) == 2, "one poll before parking, one after the webhook"
    assert len(world.delivery.received) == 1


async def test_a_webhook_that_comes_before_the_job_parks_is_not_lost(
    fal_world: World, pool: ArqRedis, redis: Redis
) -> None:
    world = fal_world
    await world.user()
    gid = await world.order(captions=False)
    queue = ArqJobQueue(pool)
    wakeups = RenderWakeups(redis, world.steps, queue)

    async def webhook_arrives_mid_poll() -> None:
        if len(world.video.collected) == 1:  # fal finished while the job was still polling it
            assert await wakeups.on_fal_event(event("req-1"), {"ref": f"g{gid}"})

    world.video.on_collect = webhook_arrives_mid_poll
    world.video.collect_script = [PENDING]
    assert await world.pipeline(park_after=3600.0).run(gid) == 3600.0
    assert await queue.take_wake(gid), "the worker sees the wake-up and runs the job again instead of parking"
    assert not await queue.take_wake(gid)


async def _parked(pool: ArqRedis, gid: int) -> bool:
    score = await pool.zscore(QUEUE_NAME, render_job_id(gid))
    in_progress = await pool.exists(f"arq:in-progress:{render_job_id(gid)}")
    return score is not None and score > time.time() * 1000 + 60_000 and not in_progress


async def _done(world: World, gid: int) -> bool:
    return (await world.info(gid)).status == GenerationStatus.DONE


async def _until(check, within: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_every_log_line_of_a_render_names_the_generation_its_user_and_the_providers_request(
    fal_world: World,
) -> None:
    import io
    import json

    from app.logs import setup_logging

    world = fal_world
    await world.user()
    gid = await world.order(captions=False)
    world.video.collect_script = [PENDING]
    stream = io.StringIO()
    setup_logging(fmt="json", level="INFO", stream=stream)
    try:
        await world.pipeline(park_after=PARK, costs=CostLedger(world.clock)).run(gid)
        await world.pipeline(park_after=PARK, costs=CostLedger(world.clock)).run(gid)
    finally:
        setup_logging(fmt="console", level="INFO")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("logger", "").startswith("app.")]
    assert {line["event"] for line in ours} >= {"generation parked until the provider reports",
                                                "generation delivered", "provider call"}  # fmt: skip
    unnamed = [
        line["event"] for line in ours if (line.get("generation_id"), line.get("user_id")) != (gid, USER)
    ]
    assert not unnamed, unnamed
    after_submit = ours[[line["event"] for line in ours].index("talking video requested") + 1 :]
    missing = [line["event"] for line in after_submit if line.get("request_id") != "req-1"]
    assert after_submit and not missing, missing
