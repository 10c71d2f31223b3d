"""The Dispatcher's shutdown must not close the Redis connections the rest of the process still uses."""

from __future__ import annotations

import asyncio

from aiogram import Dispatcher
from redis.asyncio import Redis

from app.fsm.storage import build_storage

KEY = "ugc:test:in-flight"


async def test_a_command_in_flight_survives_the_dispatcher_shutdown(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        dispatcher = Dispatcher(storage=build_storage(client))
        # A command still waiting for its answer when the bot stops: an update draining, a job unwinding.
        waiting = asyncio.create_task(client.blpop([KEY], timeout=5))
        await asyncio.sleep(0.2)

        await dispatcher.emit_shutdown()  # aiogram closes its FSM storage here
        async with Redis.from_url(redis_url) as other:
            await other.rpush(KEY, b"done")

        assert await waiting == (KEY.encode(), b"done")
    finally:
        await client.delete(KEY)
        await client.aclose()
