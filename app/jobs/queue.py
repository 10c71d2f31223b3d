"""``ArqJobQueue``: generation jobs on arq, on the bot's Redis.

The queue only carries ids: the job id *is* the generation id (``generation:<id>``), so enqueueing one twice
— a double tap, the reaper, a restarted bot — is a no-op while the job waits or runs. Results are not kept
(``keep_result=0``): once a job ended, the database row says what happened and a new enqueue of a finished
generation does nothing.
"""

from __future__ import annotations

import time
from typing import Any

from arq.connections import ArqRedis

QUEUE_NAME = "ugc:jobs"
RENDER = "render"
PREVIEW = "preview"
BROADCAST = "broadcast"
IN_PROGRESS_PREFIX = "arq:in-progress:"
JOB_PREFIX = "arq:job:"
WAKE_PREFIX = "ugc:wake:"
WAKE_TTL = 3600  # a wake-up nobody consumed (the job finished meanwhile) is forgotten after an hour


def render_job_id(generation_id: int) -> str:
    return f"generation:{generation_id}"


def broadcast_job_id(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


def preview_job_id(user_id: int, draft_id: str, n: int) -> str:
    return f"preview:{user_id}:{draft_id}:{n}"


class ArqJobQueue:
    """``JobQueue`` over an arq pool; any number of bot processes and workers share one Redis."""

    def __init__(self, pool: ArqRedis, *, queue_name: str = QUEUE_NAME) -> None:
        self._pool = pool
        self.queue_name = queue_name

    async def enqueue(self, generation_id: int) -> None:
        await self._pool.enqueue_job(
            RENDER, generation_id, _job_id=render_job_id(generation_id), _queue_name=self.queue_name
        )

    async def enqueue_preview(self, user_id: int, draft_id: str, n: int, draft: dict[str, Any]) -> bool:
        """Queue a free draft preview; False when this very preview is already queued."""
        job = await self._pool.enqueue_job(
            PREVIEW,
            user_id,
            draft,
            _job_id=preview_job_id(user_id, draft_id, n),
            _queue_name=self.queue_name,
        )
        return job is not None

    async def enqueue_broadcast(self, broadcast_id: int) -> None:
        """Queue the sending of a broadcast; a no-op while its job waits or runs."""
        await self._pool.enqueue_job(
            BROADCAST, broadcast_id, _job_id=broadcast_job_id(broadcast_id), _queue_name=self.queue_name
        )

    async def has_broadcast_job(self, broadcast_id: int) -> bool:
        return bool(await self._pool.exists(JOB_PREFIX + broadcast_job_id(broadcast_id)))

    async def release_broadcast(self, broadcast_id: int) -> bool:
        """Free the job of a broadcast whose sender died (see :meth:`release`)."""
        return bool(await self._pool.delete(IN_PROGRESS_PREFIX + broadcast_job_id(broadcast_id)))

    async def has_job(self, generation_id: int) -> bool:
        """Whether arq knows a job of the generation (queued, deferred or running)."""
        return bool(await self._pool.exists(JOB_PREFIX + render_job_id(generation_id)))

    async def release(self, generation_id: int) -> bool:
        """Free the job of a generation whose worker died: arq runs it again at its next poll.

        arq marks a running job with an in-progress key that lives as long as the job's time limit; a worker
        killed mid-job leaves it behind, and without this the job would wait for the key to expire.
        """
        return bool(await self._pool.delete(IN_PROGRESS_PREFIX + render_job_id(generation_id)))

    async def wake(self, generation_id: int) -> bool:
        """Run a parked generation's job now (its provider reported by webhook); False if it is not queued.

        A wake-up that arrives while the job is still running (before it parked) is kept in a flag the job
        reads before parking, so it is not lost."""
        await self._pool.set(WAKE_PREFIX + str(generation_id), b"1", ex=WAKE_TTL)
        now_ms = int(time.time() * 1000)
        changed = await self._pool.zadd(
            self.queue_name, {render_job_id(generation_id): now_ms}, xx=True, ch=True
        )
        return bool(changed)

    async def take_wake(self, generation_id: int) -> bool:
        """Whether a wake-up came for the generation since it last looked (and forget it)."""
        return bool(await self._pool.getdel(WAKE_PREFIX + str(generation_id)))
