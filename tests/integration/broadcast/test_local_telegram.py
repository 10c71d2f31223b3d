"""500 users through the real aiogram ``Bot`` and the local Bot API server: 429s, blocked users and a worker
restart in the middle — everyone who can receive it gets the message exactly once, at no more than 25/s."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from app.db.models import Broadcast, BroadcastDelivery, User
from app.jobs.broadcast import DEFAULT_RATE, BroadcastSender
from app.services.broadcasts import Broadcasts, BroadcastStatus
from tests.fakes.services import FixedClock
from tests.integration.broadcast.conftest import ADMIN, broadcast_texts
from tests.support.localtg import ControlClient, local_telegram_server

T = TypeVar("T")
TEXT = "🎬 New: captions in 12 styles. Try them today!"
USERS = list(range(10_001, 10_501))
BLOCKED = [10_003, 10_077, 10_150, 10_222, 10_310, 10_404, 10_499]
RESTART_AFTER = 200
# The call log's clock is the server's arrival time: a few ms of jitter on either end of a ~10 s span.
RATE_SLACK = 1.03


async def in_chunks(calls: Iterable[Awaitable[T]], size: int = 50) -> list[T]:
    pending = list(calls)
    results: list[T] = []
    for start in range(0, len(pending), size):
        results += await asyncio.gather(*pending[start : start + size])
    return results


def send_rate(calls: list[dict[str, Any]]) -> float:
    """Send calls per second between the first and the last of ``calls``, as the server received them."""
    times = sorted(call["time"] for call in calls)
    return float(len(times) - 1) / float(times[-1] - times[0])


async def until_in_flight(tg: ControlClient, within: float = 10.0) -> None:
    """Until the server has received the send call that carries the injected latency (the control API has
    no event for an arriving call, so the log is polled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if [c for c in await tg.calls("sendMessage") if c["fault"] == "latency"]:
            return
        assert loop.time() < deadline, "the slow send never arrived"
        await asyncio.sleep(0.005)


async def broadcast_sends(tg: ControlClient) -> list[dict[str, Any]]:
    return [c for c in await tg.calls("sendMessage") if c["chat_id"] != ADMIN]


async def test_500_users_get_one_message_each_through_429s_blocks_and_a_restart(db: str) -> None:
    clock = FixedClock()
    texts = broadcast_texts()
    broadcasts = Broadcasts(clock)
    async with local_telegram_server() as server, ControlClient(server.url) as tg:
        await tg.create_user(ADMIN, "Admin")
        await tg.send(ADMIN, "/start")
        await in_chunks(tg.create_user(user, f"User {user}") for user in USERS)
        await in_chunks(tg.send(user, "/start") for user in USERS)
        await in_chunks(tg.block(user) for user in BLOCKED)
        now = clock.now()
        await User.create(id=ADMIN, locale="en", created_at=now, last_seen_at=now)
        await User.bulk_create(
            [User(id=u, locale="ru", created_at=now, registered_at=now, last_seen_at=now) for u in USERS]
        )

        bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))
        try:
            progress = await bot.send_message(ADMIN, "📣 Broadcast: starting…")
            info = await broadcasts.create(ADMIN, TEXT, None, None)
            assert info.total == len(USERS)
            assert await broadcasts.start(info.id, ADMIN, progress.message_id)

            # Flood control right at the start, and again mid-way.
            await tg.fault("sendMessage", "429", retry_after=1)
            first = asyncio.create_task(BroadcastSender(bot, broadcasts, texts, clock).run(info.id))
            mid_fault = False
            while len(sent := await broadcast_sends(tg)) < RESTART_AFTER:
                assert not first.done(), "the sender ended before the restart"
                if len(sent) >= 100 and not mid_fault:
                    await tg.fault("sendMessage", "429", retry_after=1)
                    mid_fault = True
                await asyncio.sleep(0.05)

            # The worker is stopped (SIGTERM cancels the job) while a message is on its way.
            await tg.fault("sendMessage", "latency", latency=0.5)
            await until_in_flight(tg)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            first_run = await broadcast_sends(tg)
            in_flight = [c for c in first_run if c["fault"] == "latency"]
            assert len(in_flight) == 1
            assert in_flight[0]["ok"], "the message in flight was answered before the worker stopped"
            stopped = await Broadcast.get(id=info.id)
            assert stopped.status == BroadcastStatus.SENDING
            assert await BroadcastDelivery.filter(broadcast_id=info.id, status="sending").count() == 0

            # A new worker picks the job up again, into two 429s in a row.
            await tg.fault("sendMessage", "429", retry_after=1, count=2)
            await BroadcastSender(bot, broadcasts, texts, clock).run(info.id)
        finally:
            await bot.session.close()

        # Everyone who can receive it has exactly one copy.
        chats = await in_chunks(tg.messages(user) for user in USERS)
        copies = {
            user: [m["text"] for m in chat if m["from"] == "bot"]
            for user, chat in zip(USERS, chats, strict=True)
        }
        assert {u: c for u, c in copies.items() if c != [TEXT] and u not in BLOCKED} == {}
        assert all(copies[user] == [] for user in BLOCKED)
        in_flight_user = in_flight[0]["chat_id"]
        assert copies[in_flight_user] == [TEXT]

        # Blocked users are marked and counted; the numbers add up.
        marked: list[Any] = await User.filter(blocked_at__isnull=False).values_list("id", flat=True)
        assert sorted(marked) == BLOCKED
        row = await Broadcast.get(id=info.id)
        assert row.status == BroadcastStatus.DONE
        assert (row.total, row.delivered, row.blocked, row.failed) == (500, 493, 7, 0)
        assert row.delivered + row.blocked + row.failed == row.total
        statuses: list[Any] = await BroadcastDelivery.filter(broadcast_id=info.id).values_list(
            "status", flat=True
        )
        assert sorted(set(statuses)) == ["blocked", "delivered"]
        assert len(statuses) == 500

        # Every 429 was waited out, not counted.
        all_sends = await broadcast_sends(tg)
        assert len([c for c in all_sends if c["status"] == 429]) == 4
        assert len(all_sends) == 500 + 4

        # The admin saw the progress and got one report.
        admin_chat = await tg.messages(ADMIN)
        shown = next(m for m in admin_chat if m["message_id"] == progress.message_id)
        assert shown["text"] == f"📣 Broadcast #{info.id}: sent 500 of 500 (blocked 7, failed 0)"
        reports = [m["text"] for m in admin_chat if m["from"] == "bot" and "finished" in (m["text"] or "")]
        assert len(reports) == 1
        assert reports[0].startswith(
            f"✅ Broadcast #{info.id} finished: 500 of 500.\nDelivered: 493\nBlocked the bot: 7\nFailed: 0\n"
        )
        match = re.search(r"Rate: ([0-9.]+) messages/s", reports[0])
        assert match is not None
        reported = float(match.group(1))

        # The pace Telegram saw, in each run.
        second_run = all_sends[len(first_run) :]
        measured = (send_rate(first_run), send_rate(second_run))
        print(
            f"\nbroadcast rate: first run {measured[0]:.2f}/s over {len(first_run)} calls, "
            f"second run {measured[1]:.2f}/s over {len(second_run)} calls, reported {reported}/s"
        )
        assert max(*measured, reported) <= DEFAULT_RATE * RATE_SLACK


async def test_the_admins_formatting_reaches_every_copy(db: str) -> None:
    clock = FixedClock()
    broadcasts = Broadcasts(clock)
    users = [20_001, 20_002]
    text = "New voices are here — listen now"
    bold = {"type": "bold", "offset": 0, "length": 10}
    link = {"type": "text_link", "offset": 25, "length": 10, "url": "https://example.com/voices"}
    async with local_telegram_server() as server, ControlClient(server.url) as tg:
        now = clock.now()
        for user in (ADMIN, *users):
            await tg.create_user(user, f"User {user}")
            await tg.send(user, "/start")
            await User.create(id=user, locale="en", created_at=now, registered_at=now, last_seen_at=now)
        bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))
        try:
            progress = await bot.send_message(ADMIN, "📣 Broadcast: starting…")
            info = await broadcasts.create(ADMIN, text, None, None, entities=[bold, link])
            assert await broadcasts.start(info.id, ADMIN, progress.message_id)
            await BroadcastSender(bot, broadcasts, broadcast_texts(), clock).run(info.id)
        finally:
            await bot.session.close()
        for user in users:
            [copy] = [m for m in await tg.messages(user) if m["text"] == text]
            assert "<b>New voices</b>" in copy["html"], copy["html"]
            assert 'href="https://example.com/voices"' in copy["html"], copy["html"]
