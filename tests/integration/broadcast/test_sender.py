"""The sender against a scripted bot and a fake clock: rate, retries, blocked users, cancels and restarts."""

from __future__ import annotations

import asyncio
import itertools
import signal
from types import SimpleNamespace
from typing import Any

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiohttp import ClientConnectorError
from arq.connections import ArqRedis
from redis.asyncio import Redis

from app.db.models import Broadcast, BroadcastDelivery, User
from app.jobs.broadcast import STOPPED_MID_SEND, TokenBucket
from app.jobs.queue import ArqJobQueue
from app.jobs.worker import WorkerConfig, WorkerParts, build_worker
from app.services.broadcasts import BroadcastStatus
from tests.integration.broadcast.conftest import ADMIN, FakeTime, World

TEXT = "Hello from the team"
METHOD = SendMessage(chat_id=1, text=TEXT)


def retry_after(seconds: int) -> TelegramRetryAfter:
    return TelegramRetryAfter(METHOD, f"Too Many Requests: retry after {seconds}", seconds)


def refused_connection() -> TelegramNetworkError:
    """What aiogram raises when the Bot API host cannot be reached at all (the request never left)."""
    error = TelegramNetworkError(METHOD, "ClientConnectorError: Cannot connect to host")
    key = SimpleNamespace(host="api.telegram.org", port=443, ssl=True)
    error.__cause__ = ClientConnectorError(key, OSError(111, "Connection refused"))  # type: ignore[arg-type]
    return error


async def broadcast_row(broadcast_id: int) -> Broadcast:
    return await Broadcast.get(id=broadcast_id)


async def test_every_user_gets_the_message_once_and_the_admin_a_report(world: World) -> None:
    await world.admin()
    users = await world.users(range(100, 130))
    broadcast_id = await world.started(TEXT)

    await world.sender().run(broadcast_id)

    assert all(world.bot.to(user) == [TEXT] for user in users)
    row = await broadcast_row(broadcast_id)
    assert row.status == BroadcastStatus.DONE
    assert (row.total, row.delivered, row.blocked, row.failed) == (30, 30, 0, 0)
    assert row.started_at == row.finished_at == world.clock.now()
    report = world.bot.to(ADMIN)[-1]
    assert report.startswith(f"✅ Broadcast #{broadcast_id} finished: 30 of 30.\nDelivered: 30\n")
    assert world.bot.edits[-1][0] == f"📣 Broadcast #{broadcast_id}: sent 30 of 30 (blocked 0, failed 0)"

    # The job run again (a duplicate enqueue, a restarted worker) finds nothing to send.
    await world.sender().run(broadcast_id)
    assert all(world.bot.to(user) == [TEXT] for user in users)
    assert len(world.bot.to(ADMIN)) == 1


async def test_the_token_bucket_spaces_takes_at_the_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(10, monotonic=time.monotonic, sleep=time.sleep)
    start = time.now
    for _ in range(21):
        await bucket.take()
    assert time.now - start == pytest.approx(2.0)
    assert all(s == pytest.approx(0.1) for s in time.sleeps)

    # After a pause the bucket refills to its burst, never beyond.
    bursty = TokenBucket(10, burst=5, monotonic=time.monotonic, sleep=time.sleep)
    time.now += 60
    start = time.now
    for _ in range(15):
        await bursty.take()
    assert time.now - start == pytest.approx(1.0)  # 5 at once, then 10 at 0.1 s


async def test_sends_never_exceed_the_rate_and_progress_is_edited_at_most_every_3_s(world: World) -> None:
    await world.admin()
    users = await world.users(range(100, 161))
    broadcast_id = await world.started(TEXT)

    await world.sender(rate=10).run(broadcast_id)

    times = [at for chat, at in world.bot.calls if chat != ADMIN]
    assert len(times) == len(users)
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(times))
    assert times[-1] - times[0] == pytest.approx(6.0)
    assert "Rate: 10.0 messages/s" in world.bot.to(ADMIN)[-1]
    # The final count may follow the previous edit sooner: it is shown once, right before the report.
    edits = [at for _, at in world.bot.edits[:-1]]
    assert len(edits) >= 2
    assert all(b - a >= 3.0 for a, b in itertools.pairwise(edits))
    assert world.bot.edits[-1][0].endswith("sent 61 of 61 (blocked 0, failed 0)")


async def test_retry_after_is_waited_out_and_the_user_still_gets_one_message(world: World) -> None:
    await world.admin()
    await world.users(range(100, 106))
    world.bot.script[102] = [retry_after(5), retry_after(7)]
    broadcast_id = await world.started(TEXT)

    await world.sender().run(broadcast_id)

    assert world.bot.to(102) == [TEXT]
    assert 5.0 in world.time.sleeps
    assert 7.0 in world.time.sleeps
    later = [at for chat, at in world.bot.calls if chat == 103]
    first_try = next(at for chat, at in world.bot.calls if chat == 102)
    assert later[0] - first_try >= 12.0
    row = await broadcast_row(broadcast_id)
    assert (row.delivered, row.blocked, row.failed) == (6, 0, 0)


async def test_a_user_who_blocked_the_bot_is_counted_marked_and_skipped_next_time(world: World) -> None:
    await world.admin()
    await world.users(range(100, 110))
    world.bot.blocked = {103, 107}
    first = await world.started(TEXT)

    await world.sender().run(first)

    row = await broadcast_row(first)
    assert (row.delivered, row.blocked, row.failed) == (8, 2, 0)
    rows = await world.rows(first)
    assert rows[103] == ("blocked", "Forbidden: bot was blocked by the user")
    marked: list[Any] = await User.filter(blocked_at__isnull=False).values_list("id", flat=True)
    assert sorted(marked) == [103, 107]
    assert "Blocked the bot: 2" in world.bot.to(ADMIN)[-1]

    calls_before = len(world.bot.calls)
    second = await world.started("Second news")
    assert (await broadcast_row(second)).total == 8
    await world.sender().run(second)
    assert [chat for chat, _ in world.bot.calls[calls_before:] if chat != ADMIN] == [
        u for u in range(100, 110) if u not in (103, 107)
    ]
    assert (await broadcast_row(second)).blocked == 0


async def test_banned_and_unregistered_users_are_skipped(world: World) -> None:
    await world.admin()
    await world.users(range(100, 103))
    await world.users([200], banned=True)
    await world.users([300], registered=False)
    broadcast_id = await world.started(TEXT)

    await world.sender().run(broadcast_id)

    assert sorted({s.chat_id for s in world.bot.sent} - {ADMIN}) == [100, 101, 102]
    assert sorted(await world.rows(broadcast_id)) == [100, 101, 102]


async def test_an_active_days_broadcast_reaches_only_recent_users(world: World) -> None:
    await world.admin()
    await world.users(range(100, 103), seen_days_ago=2)
    await world.users(range(200, 205), seen_days_ago=40)
    broadcast_id = await world.started(TEXT, active_days=30)

    await world.sender().run(broadcast_id)

    assert sorted({s.chat_id for s in world.bot.sent} - {ADMIN}) == [100, 101, 102]
    assert (await broadcast_row(broadcast_id)).total == 3


async def test_errors_fail_the_user_with_the_reason_kept_and_only_unsent_requests_are_retried(
    world: World,
) -> None:
    await world.admin()
    await world.users(range(100, 105))
    world.bot.script[100] = [TelegramBadRequest(METHOD, "Bad Request: chat not found")]
    world.bot.script[101] = [refused_connection(), refused_connection()]
    world.bot.script[102] = [refused_connection() for _ in range(10)]
    world.bot.script[103] = [TelegramServerError(METHOD, "Bad Gateway")]
    broadcast_id = await world.started(TEXT)

    await world.sender(network_retries=3).run(broadcast_id)

    rows = await world.rows(broadcast_id)
    assert rows[100] == ("failed", "Bad Request: chat not found")
    assert rows[101] == ("delivered", None)
    assert world.bot.to(101) == [TEXT]
    assert rows[102][0] == "failed"
    assert "Cannot connect" in (rows[102][1] or "")
    assert [chat for chat, _ in world.bot.calls].count(102) == 4  # the first try and 3 retries
    assert world.time.sleeps.count(0.5) >= 2  # backoff 0.5, 1, 2 s
    # A 5xx may come after Telegram delivered the message: it is not sent again.
    assert rows[103][0] == "failed"
    assert [chat for chat, _ in world.bot.calls].count(103) == 1
    assert rows[104] == ("delivered", None)
    row = await broadcast_row(broadcast_id)
    assert (row.delivered, row.blocked, row.failed) == (2, 0, 3)
    assert "Failed: 3" in world.bot.to(ADMIN)[-1]


async def test_an_admin_cancel_stops_the_sender_before_its_next_user(world: World) -> None:
    await world.admin()
    await world.users(range(100, 130))
    broadcast_id = await world.started(TEXT)

    async def cancel_at_tenth(n: int) -> None:
        if n == 10:
            assert await world.broadcasts.cancel(broadcast_id)

    world.bot.on_send = cancel_at_tenth
    await world.sender().run(broadcast_id)

    assert len([s for s in world.bot.sent if s.chat_id != ADMIN]) == 10
    row = await broadcast_row(broadcast_id)
    assert row.status == BroadcastStatus.CANCELLED
    assert row.delivered == 10
    report = world.bot.to(ADMIN)[-1]
    assert report.startswith(f"⛔ Broadcast #{broadcast_id} cancelled: 10 of 30.")

    # A cancelled broadcast is never picked up again.
    await world.sender().run(broadcast_id)
    assert len(world.bot.sent) == 11


async def test_a_row_left_sending_by_a_killed_sender_is_failed_and_never_resent(world: World) -> None:
    await world.admin()
    await world.users(range(100, 105))
    broadcast_id = await world.started(TEXT)
    # A sender killed mid-send: its row says `sending`, nobody knows whether Telegram got the message.
    await Broadcast.filter(id=broadcast_id).update(status="sending", started_at=world.clock.now(), total=5)
    await BroadcastDelivery.create(
        broadcast_id=broadcast_id, user_id=102, status="sending", at=world.clock.now()
    )

    await world.sender().run(broadcast_id)

    assert world.bot.to(102) == []
    assert [u for u in range(100, 105) if world.bot.to(u) == [TEXT]] == [100, 101, 103, 104]
    rows = await world.rows(broadcast_id)
    assert rows[102] == ("failed", STOPPED_MID_SEND)
    row = await broadcast_row(broadcast_id)
    assert (row.total, row.delivered, row.failed) == (5, 4, 1)


async def test_a_stopping_worker_waits_for_the_message_in_flight_and_the_next_run_resumes(
    world: World,
) -> None:
    await world.admin()
    users = await world.users(range(100, 110))
    broadcast_id = await world.started(TEXT)
    in_flight = asyncio.Event()
    release = asyncio.Event()

    async def slow_sixth(n: int) -> None:
        if n == 6:
            in_flight.set()
            await release.wait()

    world.bot.on_send = slow_sixth
    task = asyncio.create_task(world.sender().run(broadcast_id))
    await in_flight.wait()
    task.cancel()  # what arq does to its jobs on SIGTERM
    for _ in range(50):  # ample turns of the loop for an unprotected send to unwind
        await asyncio.sleep(0)
    assert not task.done(), "the sender must wait for the message in flight"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task

    rows = await world.rows(broadcast_id)
    assert rows == {u: ("delivered", None) for u in users[:6]}
    assert (await broadcast_row(broadcast_id)).delivered == 6  # counters written on the way out

    world.bot.on_send = None
    await world.sender().run(broadcast_id)
    assert all(world.bot.to(user) == [TEXT] for user in users)
    row = await broadcast_row(broadcast_id)
    assert (row.status, row.delivered, row.failed) == (BroadcastStatus.DONE, 10, 0)


async def test_a_worker_stopping_during_a_retry_after_wait_leaves_the_user_for_the_next_run(
    world: World,
) -> None:
    await world.admin()
    users = await world.users(range(100, 105))
    world.bot.script[102] = [retry_after(30)]
    broadcast_id = await world.started(TEXT)
    waiting = asyncio.Event()

    async def long_sleep(seconds: float) -> None:
        if seconds >= 30:
            waiting.set()
            await asyncio.Event().wait()  # until cancelled
        await world.time.sleep(seconds)

    sender = world.sender()
    sender._sleep = long_sleep
    task = asyncio.create_task(sender.run(broadcast_id))
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(await world.rows(broadcast_id)) == [100, 101]  # 102 was never taken by Telegram

    await world.sender().run(broadcast_id)
    assert all(world.bot.to(user) == [TEXT] for user in users)


async def test_a_photo_broadcast_sends_the_photo_with_its_caption(world: World) -> None:
    await world.admin()
    await world.users(range(100, 102))
    broadcast_id = await world.started("Look at this", photo="AgACphoto-id")

    await world.sender().run(broadcast_id)

    sent = [s for s in world.bot.sent if s.chat_id != ADMIN]
    assert [(s.chat_id, s.photo, s.text) for s in sent] == [
        (100, "AgACphoto-id", "Look at this"),
        (101, "AgACphoto-id", "Look at this"),
    ]


@pytest.mark.parametrize(
    ("admin_locale", "expected"), [("ru", "Доставлено: 2"), ("en", "Delivered: 2"), (None, "Доставлено: 2")]
)
async def test_the_report_speaks_the_admins_language(
    world: World, admin_locale: str | None, expected: str
) -> None:
    if admin_locale is not None:
        await world.admin(locale=admin_locale)
    await world.users(range(100, 102))
    broadcast_id = await world.started(TEXT)

    await world.sender().run(broadcast_id)

    assert expected in world.bot.to(ADMIN)[-1]


async def test_counters_are_written_in_batches_while_sending(world: World) -> None:
    await world.admin()
    await world.users(range(100, 250))
    broadcast_id = await world.started(TEXT)
    seen: list[int] = []

    async def look(n: int) -> None:
        if n in (30, 120):
            seen.append((await broadcast_row(broadcast_id)).delivered)

    world.bot.on_send = look
    await world.sender(batch_size=50).run(broadcast_id)

    assert seen == [0, 100]
    assert (await broadcast_row(broadcast_id)).delivered == 150


class _Idle:
    """The worker's scheduled parts, with nothing to do in this test."""

    async def run(self) -> None:
        return None


async def test_the_worker_runs_an_enqueued_broadcast_once_however_often_it_is_enqueued(
    world: World, redis_url: str, redis: Redis
) -> None:
    await world.admin()
    users = await world.users(range(100, 110))
    broadcast_id = await world.started(TEXT)
    pool = ArqRedis.from_url(redis_url)
    queue = ArqJobQueue(pool)
    runs: list[int] = []

    async def send(broadcast_id: int) -> None:
        runs.append(broadcast_id)
        await world.sender().run(broadcast_id)

    parts = WorkerParts(
        pipeline=None,  # type: ignore[arg-type]
        heartbeats=None,  # type: ignore[arg-type]
        reaper=_Idle(),  # type: ignore[arg-type]
        cleanup=_Idle(),  # type: ignore[arg-type]
        summary=None,
        broadcast=send,
    )
    worker = build_worker(pool, parts, WorkerConfig(poll_delay=0.05, concurrency=2))
    await queue.enqueue_broadcast(broadcast_id)
    await queue.enqueue_broadcast(broadcast_id)  # a double tap on "Send"
    assert await redis.exists(f"arq:job:broadcast:{broadcast_id}")
    task = asyncio.create_task(worker.async_run())
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while (await Broadcast.get(id=broadcast_id)).status != BroadcastStatus.DONE:
            assert asyncio.get_running_loop().time() < deadline, "the worker did not send the broadcast"
            await asyncio.sleep(0.05)
    finally:
        worker.handle_sig(signal.SIGTERM)
        task.cancel()
        await asyncio.gather(task, *worker.tasks.values(), return_exceptions=True)
        await pool.aclose()
    assert runs == [broadcast_id]
    assert all(world.bot.to(user) == [TEXT] for user in users)
