"""When a provider fails: busy or down is retried with growing pauses, a refusal is final at once; every
failure gives the credits back exactly once and tells the user once, in their language, why."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from app.domain.generations import GenerationStatus
from app.domain.steps import RetryPolicy, Step
from app.jobs.pipeline import MAX_TAKE_UPS
from app.services.providers import ProviderError
from tests.integration.jobs.conftest import BOTH_DATABASES, TALKING_HEAD_COST, USER, World
from tests.integration.jobs.fakes import PENDING

HELD = ("hold", -TALKING_HEAD_COST)
RELEASED = ("release", TALKING_HEAD_COST)
CAPTURED = ("capture", 0)


def busy() -> ProviderError:
    return ProviderError("provider_busy", "HTTP 429 too many requests", transient=True)


def down() -> ProviderError:
    return ProviderError("provider_unavailable", "HTTP 503", transient=True)


def timed_out() -> ProviderError:
    return ProviderError("provider_unavailable", "submit: timed out (ReadTimeout)", transient=True)


async def assert_refunded_once(world: World, gid: int, reason: str) -> None:
    info = await world.info(gid)
    assert (info.status, info.error_reason, info.refunded) == (GenerationStatus.FAILED, reason, True)
    assert await world.movements() == [HELD, RELEASED]
    assert await world.balance() == 50
    assert world.delivery.received == [], "nothing was delivered"


def told(world: World) -> list[str]:
    return world.bot.to(USER)


@pytest.mark.parametrize(
    ("error", "reason", "says"),
    [
        (busy, "provider_busy", "the AI service is overloaded right now"),
        (down, "provider_unavailable", "the AI service is unavailable right now"),
        (timed_out, "provider_unavailable", "the AI service is unavailable right now"),
    ],
)
async def test_a_provider_busy_or_down_is_retried_with_backoff_then_failed_with_its_reason(
    world: World, error: Callable[[], ProviderError], reason: str, says: str
) -> None:
    await world.user()
    gid = await world.order()
    world.video.submit_script = [error() for _ in range(10)]

    await world.pipeline(retry=RetryPolicy(attempts=4, base=2.0, cap=60.0)).run(gid)

    assert world.sleeps.delays == [2.0, 4.0, 8.0], "waits 2, 4, 8 s between the 4 attempts"
    assert world.video.submit_calls == 4 and world.video.requests == []
    video = await world.steps.get(gid, Step.VIDEO)
    assert video is not None and video.attempts == 4 and video.error is not None and reason in video.error
    await assert_refunded_once(world, gid, reason)
    [notice] = told(world)
    assert f"Video #{gid} could not be made: {says}." in notice
    assert f"The {TALKING_HEAD_COST} cr. went back to your balance." in notice


async def test_the_backoff_doubles_up_to_its_cap(world: World) -> None:
    await world.user()
    gid = await world.order()
    world.video.submit_script = [busy() for _ in range(10)]

    await world.pipeline(retry=RetryPolicy(attempts=6, base=2.0, cap=10.0)).run(gid)

    assert world.sleeps.delays == [2.0, 4.0, 8.0, 10.0, 10.0]
    assert world.video.submit_calls == 6
    await assert_refunded_once(world, gid, "provider_busy")


async def test_a_provider_that_recovers_within_the_retries_delivers_the_video(world: World) -> None:
    await world.user()
    gid = await world.order(captions=False)
    world.video.submit_script = [busy()]
    world.video.collect_script = [timed_out(), PENDING, down()]

    await world.pipeline(retry=RetryPolicy(attempts=4)).run(gid)

    assert world.video.submit_calls == 2 and world.video.requests == ["req-1"], "one render paid for"
    assert world.video.collected == ["req-1"] * 4, "the failed polls asked about the same request"
    # Attempt 1: submit busy, 2 s; 2: collect timed out, 4 s; 3: a 5 s poll, then down, 8 s; 4: the video.
    assert world.sleeps.delays == [2.0, 4.0, 5.0, 8.0]
    info = await world.info(gid)
    assert info.status == GenerationStatus.DONE
    assert await world.movements() == [HELD, CAPTURED]
    assert told(world) == [] and len(world.delivery.received) == 1


@pytest.mark.parametrize(
    ("where", "error", "says"),
    [
        ("submit", ProviderError("provider_rejected", "HTTP 400"), "the AI service rejected the request"),
        ("submit", ProviderError("content_refused", "HTTP 422"), "the service refused this content"),
        (
            "collect",
            ProviderError("video_failed", "fal run failed: COMPLETED with an error"),
            "the video could not be rendered",
        ),
        ("collect", ProviderError("content_refused", "fal run failed (content_policy_violation)"), "refused"),
    ],
)
async def test_a_permanent_error_fails_at_once_without_retrying(
    world: World, where: str, error: ProviderError, says: str
) -> None:
    await world.user()
    gid = await world.order()
    if where == "submit":
        world.video.submit_script = [error]
    else:
        world.video.collect_script = [PENDING, error]

    await world.pipeline().run(gid)

    assert world.video.submit_calls == 1
    assert world.sleeps.delays == ([] if where == "submit" else [5.0]), "no backoff: a refusal is final"
    await assert_refunded_once(world, gid, error.reason)
    [notice] = told(world)
    assert says in notice


@BOTH_DATABASES
async def test_a_failure_is_refunded_once_and_told_once_whatever_runs_after_it(world: World) -> None:
    await world.user()
    gid = await world.order()
    world.video.collect_script = [ProviderError("video_failed", "COMPLETED with an error")]
    pipeline = world.pipeline()
    await pipeline.run(gid)
    notice = list(world.bot.sent)

    # The queue runs the job again, the reaper gives up on it, an operator fails it by hand.
    await pipeline.run(gid)
    await pipeline.abandon(gid, "timeout", "the reaper, late")
    again = await world.generations.fail(gid, "internal", detail="by hand")

    assert again.error_reason == "video_failed", "the first reason stays"
    await assert_refunded_once(world, gid, "video_failed")
    assert world.bot.sent == notice and len(notice) == 1
    assert world.video.submit_calls == 1


async def test_a_russian_speaking_user_is_told_in_russian(world: World) -> None:
    await world.user(locale="ru")
    gid = await world.order(locale="ru")
    world.video.submit_script = [ProviderError("content_refused", "HTTP 422")]

    await world.pipeline().run(gid)

    [notice] = told(world)
    assert f"Видео #{gid} не получилось: сервис отказался обрабатывать такое содержимое." in notice
    assert f"{TALKING_HEAD_COST} кр. вернулись на баланс." in notice


async def test_an_unexpected_error_fails_as_internal_and_refunds(world: World) -> None:
    await world.user()
    gid = await world.order()
    world.video.collect_script = [RuntimeError("provider client bug")]

    await world.pipeline().run(gid)

    await assert_refunded_once(world, gid, "internal")
    info = await world.info(gid)
    assert info.error_detail is not None and "provider client bug" in info.error_detail, "operators see why"
    [notice] = told(world)
    assert "an internal error happened" in notice


async def test_a_missing_speech_file_fails_with_missing_file(world: World) -> None:
    await world.user()
    gid = await world.order()
    info = await world.info(gid)
    await world.storage.delete(info.speech_key)

    await world.pipeline().run(gid)

    await assert_refunded_once(world, gid, "missing_file")
    assert world.video.submit_calls == 0
    assert "a file of your setup is gone" in told(world)[0]


async def test_a_generation_taken_up_too_many_times_is_failed_and_refunded(world: World) -> None:
    await world.user()
    gid = await world.order()
    # Each take-up dies while waiting on the provider (a worker killed, a deploy, a time limit).
    world.video.collect_script = [asyncio.CancelledError() for _ in range(MAX_TAKE_UPS)]
    pipeline = world.pipeline()
    for _ in range(MAX_TAKE_UPS):
        with pytest.raises(asyncio.CancelledError):
            await pipeline.run(gid)
        assert (await world.info(gid)).status == GenerationStatus.RUNNING
    assert (await world.info(gid)).attempts == MAX_TAKE_UPS
    assert told(world) == []

    await pipeline.run(gid)

    await assert_refunded_once(world, gid, "internal")
    assert world.video.submit_calls == 1 and len(world.video.collected) == MAX_TAKE_UPS
    [notice] = told(world)
    assert "an internal error happened" in notice


async def test_a_render_past_the_video_deadline_fails_with_video_timeout(world: World) -> None:
    await world.user()
    gid = await world.order()
    world.video.collect_script = [PENDING for _ in range(100)]

    await world.pipeline(video_deadline=60.0, poll_interval=5.0).run(gid)

    # Polls at 0, 5, …, 60 s are within the minute; the one at 65 s is past it.
    assert len(world.video.collected) == 14 and world.sleeps.delays == [5.0] * 13
    assert world.video.submit_calls == 1
    await assert_refunded_once(world, gid, "video_timeout")
    [notice] = told(world)
    assert "the video service took too long" in notice


async def test_the_video_deadline_counts_from_the_first_attempt_across_restarts(world: World) -> None:
    await world.user()
    gid = await world.order()
    world.video.collect_script = [PENDING, asyncio.CancelledError(), PENDING]
    pipeline = world.pipeline(video_deadline=60.0, poll_interval=5.0)
    with pytest.raises(asyncio.CancelledError):
        await pipeline.run(gid)

    world.clock.advance(seconds=61)  # the worker was down for a minute
    await pipeline.run(gid)

    assert world.video.submit_calls == 1 and len(world.video.collected) == 3
    await assert_refunded_once(world, gid, "video_timeout")
    assert len(told(world)) == 1


async def test_a_generation_failed_by_the_reaper_mid_wait_stops_the_worker_quietly(world: World) -> None:
    """The reaper gave up on a job it took for dead; the worker, still polling, must neither keep paying for
    polls until the deadline nor tell the user a second time."""
    await world.user()
    gid = await world.order()
    world.video.collect_script = [PENDING for _ in range(100)]
    pipeline = world.pipeline(video_deadline=3600.0)

    async def reaper_steps_in() -> None:
        if len(world.video.collected) == 3:
            await pipeline.abandon(gid, "timeout", "unfinished after 3 h")

    world.video.on_collect = reaper_steps_in
    await pipeline.run(gid)

    await assert_refunded_once(world, gid, "timeout")
    assert len(world.video.collected) == 3, "the worker stopped polling a failed generation"
    [notice] = told(world)
    assert "the video was not finished in time" in notice


async def test_a_video_that_arrives_after_the_reaper_failed_it_is_not_delivered(world: World) -> None:
    await world.user()
    gid = await world.order()
    pipeline = world.pipeline()

    async def reaper_steps_in() -> None:
        await pipeline.abandon(gid, "timeout", "unfinished after 3 h")

    world.video.on_collect = reaper_steps_in
    await pipeline.run(gid)

    await assert_refunded_once(world, gid, "timeout")
    assert len(told(world)) == 1, "told once, by the reaper"
    assert (await world.info(gid)).status == GenerationStatus.FAILED


async def test_a_generation_failed_by_the_reaper_during_a_backoff_is_not_tried_again(world: World) -> None:
    await world.user()
    gid = await world.order()
    world.video.submit_script = [busy() for _ in range(10)]
    pipeline = world.pipeline(retry=RetryPolicy(attempts=4))

    async def sleep_and_reap(seconds: float) -> None:
        await world.sleeps(seconds)
        await pipeline.abandon(gid, "timeout", "unfinished after 3 h")

    pipeline.sleep = sleep_and_reap
    await pipeline.run(gid)

    assert world.video.submit_calls == 1, "no render requested for a refunded generation"
    await assert_refunded_once(world, gid, "timeout")
    assert len(told(world)) == 1
