"""aiogram FSM storage in Redis, keyed the way aiogram-dialog needs."""

from __future__ import annotations

from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis


class SharedRedisStorage(RedisStorage):
    """RedisStorage on a Redis client it does not own.

    aiogram's Dispatcher closes its storage at shutdown, and RedisStorage.close() closes the client's whole
    connection pool. In this runtime the pool is shared (media ids, throttles, the job queue, a worker) and
    some of those are still busy at that moment — updates draining, jobs unwinding: closing it under them
    made their commands fail with "Connection closed by server". The runtime closes the client last.
    """

    async def close(self) -> None:
        return None


def build_storage(redis: Redis) -> RedisStorage:
    """RedisStorage over ``redis``; the caller owns ``redis`` and closes it."""
    # aiogram-dialog keeps one record per dialog stack and context; without the destiny part of the key it
    # refuses to start. Pass ``storage.create_isolation()`` to both the Dispatcher and attach_flows.
    return SharedRedisStorage(redis, key_builder=DefaultKeyBuilder(with_destiny=True))
