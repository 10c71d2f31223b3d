"""Limits shared by every process through Redis: at most one progress edit per chat per 5 s, chat actions,
free previews per user per hour."""

from __future__ import annotations

from redis.asyncio import Redis


class RedisThrottle:
    def __init__(self, redis: Redis, *, prefix: str = "ugc:throttle:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def allow(self, key: str, seconds: float) -> bool:
        """True at most once per ``seconds`` for ``key``, across all processes."""
        return bool(await self._redis.set(self._prefix + key, b"1", nx=True, px=max(1, int(seconds * 1000))))

    async def remaining(self, key: str) -> float:
        """Seconds until ``allow(key, …)`` may say yes again (0 when it would now)."""
        left = await self._redis.pttl(self._prefix + key)
        return max(int(left), 0) / 1000

    async def take(self, key: str, *, limit: int, window: int) -> tuple[bool, int]:
        """Count one use of ``key`` in the current ``window`` (seconds); (allowed, seconds until the window
        resets). A refused use is not counted."""
        name = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window, nx=True)
            pipe.ttl(name)
            used, _, ttl = await pipe.execute()
        if int(used) > limit:
            await self._redis.decr(name)
            return False, max(int(ttl), 1)
        return True, max(int(ttl), 1)
