"""The workers' housekeeping: old temp files go (fresh ones stay), the admins' daily numbers add up, and a
worker's heartbeat reaches every generation it renders."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from arq.connections import ArqRedis

from app.domain.generations import GenerationStatus
from app.jobs.scheduled import DailySummary, Reaper, TempCleanup
from app.jobs.worker import WorkerConfig, WorkerParts, build_worker
from tests.integration.jobs.conftest import BACKGROUND_COST, TALKING_HEAD_COST, World

DAY = 24 * 3600.0


def aged(path: Path, seconds: float, data: bytes = b"x") -> Path:
    """A file last changed ``seconds`` ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def age_folder(path: Path, seconds: float) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


async def test_temp_cleanup_removes_old_files_and_the_folders_they_leave_empty(tmp_path: Path) -> None:
    scratch, storage = tmp_path / "scratch", tmp_path / "storage"
    old_job = [aged(scratch / "generations" / "7" / "inputs" / f"{n}.mp4", 2 * DAY) for n in range(3)]
    fresh_job = aged(scratch / "generations" / "8" / "talking.mp4", 60)
    fresh_empty = age_folder(scratch / "generations" / "9", 0)  # a job just made its work folder
    old_empty = age_folder(scratch / "words", 3 * DAY)
    old_tmp = aged(storage / "tmp" / "users" / "1" / "drafts" / "a" / "speech.wav", 8 * DAY)
    recent_tmp = aged(storage / "tmp" / "users" / "1" / "drafts" / "b" / "speech.wav", 3 * DAY)
    kept_video = aged(storage / "users" / "1" / "generations" / "7" / "video.mp4", 30 * DAY)
    for folder in (scratch / "generations" / "7" / "inputs", scratch / "generations" / "7"):
        age_folder(folder, 2 * DAY)

    removed = await TempCleanup(scratch_dir=scratch, storage_tmp=storage / "tmp").run()

    assert removed == 4, "three work files and one draft upload"
    assert not any(p.exists() for p in old_job) and not old_tmp.exists()
    assert not (scratch / "generations" / "7").exists(), "the old job's folders went with its files"
    assert not (storage / "tmp" / "users" / "1" / "drafts" / "a").exists()
    assert not old_empty.exists()
    assert fresh_job.exists() and fresh_empty.is_dir() and recent_tmp.exists()
    assert kept_video.exists(), "stored videos are not temp files"
    assert scratch.is_dir() and (storage / "tmp").is_dir(), "the roots stay"


async def test_temp_cleanup_without_local_storage_sweeps_only_the_scratch_folder(tmp_path: Path) -> None:
    old = aged(tmp_path / "scratch" / "copies" / "a.jpg", 2 * DAY)
    elsewhere = aged(tmp_path / "tmp" / "b.wav", 30 * DAY)

    assert await TempCleanup(scratch_dir=tmp_path / "scratch", storage_tmp=None).run() == 1
    assert not old.exists() and elsewhere.exists()
    assert await TempCleanup(scratch_dir=tmp_path / "missing", storage_tmp=None).run() == 0


async def finished(world: World, *, video_format: str = "talking_head", fail: str | None = None) -> int:
    gid = await world.order(video_format=video_format, captions=False)
    if fail is None:
        await world.generations.complete(gid, video_key="v.mp4", audio_key="a.ogg")
    else:
        await world.generations.fail(gid, fail)
    return gid


async def test_the_daily_summary_counts_the_last_day_for_every_admin(world: World) -> None:
    await world.user(credits=200)
    await finished(world)  # two days ago: not in today's numbers
    await finished(world, fail="video_failed")
    world.clock.advance(days=2)
    await finished(world)
    await finished(world, video_format="background")
    await finished(world, fail="video_failed")
    await finished(world, fail="video_failed")
    await finished(world, fail="timeout")
    await world.order()  # still rendering
    world.bot.refuse = {111}  # this admin blocked the bot
    summary = DailySummary(
        bot=world.bot,  # type: ignore[arg-type]  # records send_message
        generations=world.generations,
        clock=world.clock,
        chats=(111, 222),
    )

    text = await summary.run()

    assert text.splitlines() == [
        "📊 UGC Bot — last 24 h",
        "Videos confirmed: 6",
        "Delivered: 2 · failed (refunded): 3",
        f"Credits spent: {TALKING_HEAD_COST + BACKGROUND_COST} · refunded: {3 * TALKING_HEAD_COST}",
        "In progress now: 1",
        "Failure reasons: video_failed × 2, timeout × 1",
    ]
    assert world.bot.to(222) == [text], "one blocked admin does not keep the others from it"


async def test_no_admins_no_summary(world: World, redis_url: str) -> None:
    await world.user()
    await finished(world)
    quiet = DailySummary(
        bot=world.bot,  # type: ignore[arg-type]  # records send_message
        generations=world.generations,
        clock=world.clock,
        chats=(),
    )

    await quiet.run()

    assert world.bot.sent == []
    parts = WorkerParts(
        pipeline=world.pipeline(),
        heartbeats=world.heartbeats,
        reaper=Reaper(world.generations, None, world.pipeline(), world.clock),  # type: ignore[arg-type]
        cleanup=TempCleanup(scratch_dir=world.scratch, storage_tmp=None),
        summary=None,
    )
    pool = ArqRedis.from_url(redis_url)
    try:
        without = build_worker(pool, parts, WorkerConfig())
        parts.summary = quiet
        with_summary = build_worker(pool, parts, WorkerConfig())
    finally:
        await pool.aclose()
    assert "daily_summary" not in {c.name for c in without.cron_jobs}
    assert "daily_summary" in {c.name for c in with_summary.cron_jobs}


async def test_one_beat_renews_every_generation_the_worker_renders(world: World) -> None:
    await world.user(credits=200)
    first, second = await world.order(), await world.order()
    for gid in (first, second):
        await world.generations.take_up(gid)
    started = world.clock.now()
    world.clock.advance(seconds=45)

    with world.heartbeats.track(first), world.heartbeats.track(first):  # the same job, resumed in-process
        assert world.heartbeats.tracked == [first]
        await world.heartbeats.beat()

    assert (await world.info(first)).heartbeat_at == started + timedelta(seconds=45)
    assert (await world.info(second)).heartbeat_at == started, "not this worker's: left to go stale"
    assert world.heartbeats.tracked == []

    await world.generations.fail(first, "internal")
    world.clock.advance(seconds=45)
    with world.heartbeats.track(first), world.heartbeats.track(second):
        await world.heartbeats.beat()
    assert (await world.info(first)).heartbeat_at == started + timedelta(seconds=45), "finished: untouched"
    assert (await world.info(second)).heartbeat_at == started + timedelta(seconds=90)
    assert (await world.info(first)).status == GenerationStatus.FAILED


async def test_a_beat_with_nothing_tracked_writes_nothing(world: World) -> None:
    await world.user()
    gid = await world.order()
    await world.generations.take_up(gid)
    before = (await world.info(gid)).heartbeat_at
    world.clock.advance(seconds=30)

    await world.heartbeats.beat()

    assert (await world.info(gid)).heartbeat_at == before
