"""aiogram FSM storage in Redis, keyed the way aiogram-dialog needs."""

from __future__ import annotations

from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis


def build_storage(redis: Redis) -> RedisStorage:
    """RedisStorage over ``redis``; the caller owns ``redis`` and closes it."""
    # aiogram-dialog keeps one record per dialog stack and context; without the destiny part of the key it
    # refuses to start. Pass ``storage.create_isolation()`` to both the Dispatcher and attach_flows.
    return RedisStorage(redis, key_builder=DefaultKeyBuilder(with_destiny=True))
