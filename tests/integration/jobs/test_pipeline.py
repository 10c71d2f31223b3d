"""A confirmed generation becomes a delivered video: every step of its plan once, in order, the files under
the generation's keys, the hold captured; a stopped job resumes where it stopped without paying twice."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.generations import GenerationStatus
from app.domain.steps import Phase, Step
from app.jobs.pipeline import GREEN_SCREEN_PROMPT, STILL_ACTIVE_CHECK
from app.services.storage.local import LocalStorage
from tests.conftest import ROOT
from tests.integration.jobs.conftest import (
    BACKGROUND_COST,
    BOTH_DATABASES,
    SCRIPT,
    TALKING_HEAD_COST,
    USER,
    World,
)
from tests.integration.jobs.fakes import PENDING

SPEECH, VIDEO, FINISHING = Phase.SPEECH, Phase.VIDEO, Phase.FINISHING


def keys_of(world: World, generation_id: int) -> set[str]:
    folder = world.storage.root / "users" / str(USER) / "generations" / str(generation_id)
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


@BOTH_DATABASES
@pytest.mark.parametrize(
    ("video_format", "captions", "plan", "phases"),
    [
        (
            "talking_head",
            True,
            ["speech", "video", "captions", "store", "deliver"],
            [SPEECH, VIDEO, FINISHING, FINISHING, FINISHING],
        ),
        (
            "talking_head",
            False,
            ["speech", "video", "store", "deliver"],
            [SPEECH, VIDEO, FINISHING, FINISHING],
        ),
        (
            "background",
            True,
            ["speech", "backdrop", "video", "composite", "captions", "store", "deliver"],
            [SPEECH, VIDEO, VIDEO, FINISHING, FINISHING, FINISHING, FINISHING],
        ),
        (
            "background",
            False,
            ["speech", "backdrop", "video", "composite", "store", "deliver"],
            [SPEECH, VIDEO, VIDEO, FINISHING, FINISHING, FINISHING],
        ),
    ],
)
async def test_a_generation_is_rendered_stored_paid_and_delivered_once(
    world: World, video_format: str, captions: bool, plan: list[str], phases: list[Phase]
) -> None:
    await world.user()
    gid = await world.order(video_format=video_format, captions=captions)
    cost = BACKGROUND_COST if video_format == "background" else TALKING_HEAD_COST

    await world.pipeline().run(gid)

    rows = await world.step_rows(gid)
    assert [r.step for r in rows] == plan, "every step of the plan, in order, each once"
    assert all(r.status == "done" and r.attempts == 1 and r.error is None for r in rows)
    assert world.delivery.phases_of(gid) == phases, "the progress message followed the steps"
    outputs = {r.step: r.output or "" for r in rows}
    assert '"provider":"scripted"' in outputs["video"] and "work-talking.mp4" in outputs["video"]

    info = await world.info(gid)
    prefix = f"users/{USER}/generations/{gid}/"
    assert info.status == GenerationStatus.DONE and info.error_reason is None
    assert (info.video_key, info.audio_key, info.thumb_key) == (
        prefix + "video.mp4",
        prefix + "speech.ogg",
        prefix + "thumb.jpg",
    )
    assert (info.video_width, info.video_height) == (720, 1280)
    assert info.video_seconds == pytest.approx(2.0, abs=0.1)
    assert (info.video_file_id, info.audio_file_id) == (f"video-{gid}", f"voice-{gid}"), "My videos resends"
    assert {"video.mp4", "thumb.jpg", "speech.ogg"} <= keys_of(world, gid)
    stored = world.storage.root / (prefix + "video.mp4")
    assert stored.read_bytes() == world.clip.read_bytes()
    assert (world.storage.root / (prefix + "speech.ogg")).read_bytes() == b"OggS-speech"

    assert await world.movements() == [("hold", -cost), ("capture", 0)]
    assert await world.balance() == 50 - cost
    [received] = world.delivery.received
    assert (received.generation_id, received.width, received.height) == (gid, 720, 1280)
    assert received.seconds == pytest.approx(2.0, abs=0.1)
    assert received.thumb_jpeg and received.link is None and received.provider == "scripted"
    assert received.video_bytes == received.size == stored.stat().st_size
    assert world.bot.sent == [] and world.delivery.failed_calls == []

    assert world.video.submit_calls == 1 and world.video.collected == ["req-1"]
    background = video_format == "background"
    assert world.editor.prompts == ([GREEN_SCREEN_PROMPT] if background else [])
    assert len(world.compositor.calls) == (1 if background else 0)
    if captions:
        [(words, style)] = world.captioner.calls
        assert " ".join(words) == SCRIPT and style == "karaoke"
    else:
        assert world.captioner.calls == []
    assert not (world.scratch / "generations" / str(gid)).exists(), "the job's work folder is cleaned up"
    assert world.heartbeats.tracked == []


async def test_the_users_edited_look_is_what_the_provider_animates(world: World) -> None:
    await world.user()
    gid = await world.order(look=True, captions=False)
    await world.pipeline().run(gid)

    assert world.video.images == [(ROOT / "catalog" / "characters" / "sofia.jpg").read_bytes()]
    assert (await world.info(gid)).status == GenerationStatus.DONE


async def test_a_slow_render_is_polled_with_heartbeats_and_chat_actions_until_done(world: World) -> None:
    await world.user()
    gid = await world.order(captions=False)
    world.video.collect_script = [PENDING, PENDING, PENDING]
    seen: list[tuple[object, object]] = []  # (the time of a poll, the heartbeat the row shows then)

    async def look() -> None:
        seen.append((world.clock.now(), (await world.info(gid)).heartbeat_at))
        assert world.heartbeats.tracked == [gid], "the worker's heartbeat covers the job while it waits"

    world.video.on_collect = look

    await world.pipeline(poll_interval=5.0).run(gid)

    assert world.sleeps.delays == [5.0, 5.0, 5.0], "polled every poll_interval"
    assert world.video.collected == ["req-1"] * 4 and world.video.submit_calls == 1
    gaps = [(at - beat).total_seconds() for at, beat in seen]  # type: ignore[operator]
    assert max(gaps) <= STILL_ACTIVE_CHECK, "the row's heartbeat never got older than the check interval"
    assert gaps[-1] < gaps[-2], "a later poll renewed it"
    assert world.delivery.working_calls == 3, "the user sees 'recording video…' while it renders"
    assert world.delivery.phases_of(gid) == [SPEECH, VIDEO, VIDEO, VIDEO, VIDEO, FINISHING, FINISHING]
    assert (await world.info(gid)).status == GenerationStatus.DONE


@BOTH_DATABASES
async def test_a_job_cancelled_while_waiting_resumes_on_the_same_request(world: World) -> None:
    await world.user()
    gid = await world.order()
    world.video.collect_script = [PENDING, asyncio.CancelledError()]

    with pytest.raises(asyncio.CancelledError):
        await world.pipeline().run(gid)

    info = await world.info(gid)
    assert info.status == GenerationStatus.RUNNING and info.attempts == 1
    video = await world.steps.get(gid, Step.VIDEO)
    assert video is not None and video.request_id == "req-1" and not video.done
    assert await world.movements() == [("hold", -TALKING_HEAD_COST)], "still held: not refunded, not paid"
    assert world.bot.sent == [] and world.delivery.received == [], "the user was told nothing yet"

    # Another worker (another machine: its own scratch folder) picks the job up.
    await world.pipeline(scratch_dir=world.root / "other-worker").run(gid)

    assert world.video.submit_calls == 1, "no second render was paid for"
    assert world.video.collected == ["req-1", "req-1", "req-1"]
    info = await world.info(gid)
    assert info.status == GenerationStatus.DONE and info.attempts == 2
    assert await world.movements() == [("hold", -TALKING_HEAD_COST), ("capture", 0)]
    assert len(world.delivery.received) == 1


async def test_a_task_cancelled_mid_collect_by_shutdown_resumes_without_a_second_submit(world: World) -> None:
    await world.user()
    gid = await world.order(captions=False)
    waiting = asyncio.Event()
    never = asyncio.Event()

    async def stall() -> None:
        waiting.set()
        await never.wait()

    world.video.on_collect = stall
    job = asyncio.create_task(world.pipeline().run(gid))
    await asyncio.wait_for(waiting.wait(), 10)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert world.heartbeats.tracked == [], "a cancelled job stops beating: the reaper can see it is gone"

    world.video.on_collect = None
    await world.pipeline().run(gid)

    assert (world.video.submit_calls, world.video.requests) == (1, ["req-1"])
    assert (await world.info(gid)).status == GenerationStatus.DONE
    assert len(world.delivery.received) == 1


@BOTH_DATABASES
async def test_a_job_stopped_after_store_only_delivers_when_run_again(world: World) -> None:
    await world.user()
    gid = await world.order(video_format="background", captions=True)
    world.delivery.deliver_script = [asyncio.CancelledError()]

    with pytest.raises(asyncio.CancelledError):
        await world.pipeline().run(gid)
    done = [r.step for r in await world.step_rows(gid) if r.status == "done"]
    assert done == ["speech", "backdrop", "video", "composite", "captions", "store"]
    world.delivery.phases.clear()

    await world.pipeline(scratch_dir=world.root / "other-worker").run(gid)

    assert world.video.submit_calls == 1 and len(world.video.collected) == 1
    assert len(world.editor.prompts) == 1 and len(world.compositor.calls) == 1
    assert len(world.captioner.calls) == 1
    assert world.delivery.phases_of(gid) == [FINISHING], "only the delivery ran again"
    attempts = {r.step: r.attempts for r in await world.step_rows(gid)}
    assert attempts == {s: 1 for s in done} | {"deliver": 2}
    [received] = world.delivery.received
    assert (received.width, received.height) == (720, 1280) and received.thumb_jpeg
    info = await world.info(gid)
    assert info.status == GenerationStatus.DONE and info.video_file_id == f"video-{gid}"
    assert await world.movements() == [("hold", -BACKGROUND_COST), ("capture", 0)]
    assert await world.balance() == 50 - BACKGROUND_COST


async def test_running_a_delivered_generation_again_does_nothing(world: World) -> None:
    await world.user()
    gid = await world.order()
    pipeline = world.pipeline()
    await pipeline.run(gid)

    await pipeline.run(gid)
    await pipeline.abandon(gid, "timeout", "the reaper, late")

    assert len(world.delivery.received) == 1 and world.bot.sent == []
    assert world.video.submit_calls == 1
    assert (await world.info(gid)).status == GenerationStatus.DONE
    assert await world.movements() == [("hold", -TALKING_HEAD_COST), ("capture", 0)]


class LinkingStorage(LocalStorage):
    """Local storage that can hand out links, as S3/R2 can."""

    async def presigned_url(self, key: str, *, expires: int) -> str | None:
        return f"https://files.example/{key}?X-Amz-Expires={expires}"


async def test_a_video_over_the_upload_limit_is_sent_as_a_week_long_link(world: World) -> None:
    world.storage = LinkingStorage(world.storage.root)
    await world.user()
    gid = await world.order(captions=False)

    await world.pipeline(storage=world.storage, upload_limit=1000).run(gid)

    [received] = world.delivery.received
    assert (
        received.link
        == f"https://files.example/users/{USER}/generations/{gid}/video.mp4?X-Amz-Expires=604800"
    )
    assert (await world.info(gid)).status == GenerationStatus.DONE
    assert await world.movements() == [("hold", -TALKING_HEAD_COST), ("capture", 0)]


async def test_a_video_over_the_limit_without_a_way_to_link_it_is_refunded_with_the_reason(
    world: World,
) -> None:
    await world.user()
    gid = await world.order(captions=False)

    await world.pipeline(upload_limit=1000).run(gid)

    info = await world.info(gid)
    assert (info.status, info.error_reason, info.refunded) == (
        GenerationStatus.FAILED,
        "video_too_large",
        True,
    )
    assert world.delivery.received == [] and world.delivery.failed_calls == [gid]
    assert await world.balance() == 50
