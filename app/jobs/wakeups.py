"""What a fal.ai webhook does on our side: wake the parked job of the generation whose render finished.

The webhook is only a signal: the woken job asks fal for the outcome itself (status, then result), exactly as
the fallback poll would, so a lost, late or repeated webhook changes when a video arrives, never what arrives.
The URL carries our reference (``?ref=g<generation id>``); it is not signed, so the event's (signed) request
id must match the request the generation's video step recorded. Each request id is acted on once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from redis.asyncio import Redis

from app.domain.steps import Step
from app.jobs.queue import ArqJobQueue
from app.logs import get_logger
from app.services.fal.queue import stored_request_id
from app.services.fal.webhook import FalWebhookEvent
from app.services.steps import StepLog

log = get_logger(__name__)

SEEN_PREFIX = "ugc:fal-webhook:"
SEEN_TTL = 3 * 24 * 3600  # fal retries a delivery for 2 hours; a request id is never reused
_REFERENCE = re.compile(r"^g([0-9]{1,18})$")


class RenderWakeups:
    def __init__(self, redis: Redis, steps: StepLog, queue: ArqJobQueue) -> None:
        self._redis = redis
        self._steps = steps
        self._queue = queue

    async def on_fal_event(self, event: FalWebhookEvent, query: Mapping[str, str]) -> bool:
        """Wake the job the event is for; False for a duplicate or an event that is nobody's."""
        match = _REFERENCE.fullmatch(query.get("ref", ""))
        if match is None:
            log.warning("fal webhook without our reference ignored", request_id=event.request_id)
            return False
        generation_id = int(match[1])
        record = await self._steps.get(generation_id, Step.VIDEO)
        waiting_on = stored_request_id(record.request_id if record is not None else None)
        if waiting_on != event.request_id:
            # A forged reference, or a render this generation no longer waits on (it was resubmitted).
            log.warning("fal webhook for a request the generation does not wait on",
                        generation_id=generation_id, request_id=event.request_id)  # fmt: skip
            return False
        first = await self._redis.set(SEEN_PREFIX + event.request_id, b"1", nx=True, ex=SEEN_TTL)
        if not first:
            log.info("fal webhook delivered again; already acted on", request_id=event.request_id)
            return False
        try:
            woken = await self._queue.wake(generation_id)
        except BaseException:
            # Not acted on after all: fal's next delivery must be.
            await self._redis.delete(SEEN_PREFIX + event.request_id)
            raise
        log.info("fal webhook: render finished", generation_id=generation_id, request_id=event.request_id,
                 status=event.status, woken=woken)  # fmt: skip
        return True
