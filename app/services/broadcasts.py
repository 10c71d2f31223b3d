"""Broadcasts: an admin's message to many users — drafted, started, cancelled; a worker sends it
(``app.jobs.broadcast.BroadcastSender``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db import broadcasts as queries
from app.db.broadcasts import BroadcastStatus, DeliveryStatus
from app.db.models import Broadcast
from app.services.clock import Clock

__all__ = [
    "MAX_ACTIVE_DAYS",
    "MAX_CAPTION",
    "MAX_TEXT",
    "BroadcastInfo",
    "BroadcastStatus",
    "Broadcasts",
    "DeliveryStatus",
]

# Telegram's own limits: a message text is 1–4096 characters, a photo caption 0–1024.
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_ACTIVE_DAYS = 365

_CANCELLABLE = (BroadcastStatus.DRAFT, BroadcastStatus.QUEUED, BroadcastStatus.SENDING)
_UNFINISHED = (BroadcastStatus.QUEUED, BroadcastStatus.SENDING)


@dataclass(frozen=True, slots=True)
class BroadcastInfo:
    """One broadcast as the admin screens and the sender see it."""

    id: int
    admin_id: int
    text: str
    photo_file_id: str | None
    active_days: int | None
    status: BroadcastStatus
    total: int
    delivered: int
    blocked: int
    failed: int
    progress_chat_id: int | None
    progress_message_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    entities: tuple[dict[str, Any], ...] = ()
    """Bot API entities of the text (the admin's bold, italics, links), as the admin sent them."""

    @property
    def handled(self) -> int:
        """Users the sender is done with, whatever the outcome."""
        return self.delivered + self.blocked + self.failed

    @property
    def finished(self) -> bool:
        return self.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED)


def broadcast_info(row: Broadcast) -> BroadcastInfo:
    return BroadcastInfo(
        id=row.id,
        admin_id=row.admin_id,
        text=row.text,
        photo_file_id=row.photo_file_id,
        active_days=row.active_days,
        status=BroadcastStatus(row.status),
        total=row.total,
        delivered=row.delivered,
        blocked=row.blocked,
        failed=row.failed,
        progress_chat_id=row.progress_chat_id,
        progress_message_id=row.progress_message_id,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        entities=_entities(row.entities),
    )


def _entities(stored: str | None) -> tuple[dict[str, Any], ...]:
    if not stored:
        return ()
    try:
        data = json.loads(stored)
    except ValueError:
        return ()
    return tuple(item for item in data if isinstance(item, dict)) if isinstance(data, list) else ()


class ContentRefused(ValueError):  # noqa: N818  (reads as the situation)
    """Telegram would refuse this message; ``key`` names the admin text (``admin.broadcast.<key>``) saying
    why, with ``values`` ({max}, {length})."""

    def __init__(self, message: str, key: str, **values: int) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


def validate_content(text: str, photo_file_id: str | None) -> None:
    """Raise ``ContentRefused`` (its message fit to show the admin) when Telegram would refuse the message."""
    length = len(text)
    if photo_file_id is not None:
        if not photo_file_id.strip():
            raise ContentRefused("The photo is missing: send the photo again.", "lost")
        if length > MAX_CAPTION:
            raise ContentRefused(
                f"A photo caption can be at most {MAX_CAPTION} characters; this one has {length}.",
                "caption_too_long", max=MAX_CAPTION, length=length,
            )  # fmt: skip
        return
    if not text.strip():
        raise ContentRefused(
            "The message is empty: write the text to send.", "text_too_long", max=MAX_TEXT, length=length
        )
    if length > MAX_TEXT:
        raise ContentRefused(
            f"A message can be at most {MAX_TEXT} characters; this one has {length}.",
            "text_too_long", max=MAX_TEXT, length=length,
        )  # fmt: skip


def validate_active_days(active_days: int | None) -> None:
    if active_days is not None and not 1 <= active_days <= MAX_ACTIVE_DAYS:
        raise ValueError(
            f"The audience window must be 1 to {MAX_ACTIVE_DAYS} days (or everyone); got {active_days}."
        )


class Broadcasts:
    """Drafts and the status changes an admin makes; the counters are the sender's."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    @property
    def clock(self) -> Clock:
        return self._clock

    async def audience_size(self, active_days: int | None) -> int:
        """How many users a broadcast to this audience would reach now."""
        validate_active_days(active_days)
        return await queries.audience_size(active_days=active_days, at=self._clock.now())

    async def create(
        self,
        admin_id: int,
        text: str,
        photo_file_id: str | None,
        active_days: int | None,
        *,
        entities: Sequence[Mapping[str, Any]] = (),
    ) -> BroadcastInfo:
        """A draft; its total is the audience as it is now (the sender recounts it when it starts).

        ``entities`` are the Bot API entities of the admin's message (bold, links…), sent with every copy."""
        validate_content(text, photo_file_id)
        validate_active_days(active_days)
        now = self._clock.now()
        total = await queries.audience_size(active_days=active_days, at=now)
        row = await queries.create(
            admin_id=admin_id,
            text=text,
            photo_file_id=photo_file_id,
            active_days=active_days,
            total=total,
            now=now,
            entities=json.dumps([dict(e) for e in entities], ensure_ascii=False) if entities else None,
        )
        return broadcast_info(row)

    async def start(self, broadcast_id: int, progress_chat_id: int, progress_message_id: int) -> bool:
        """Queue a draft for sending (the caller then enqueues its job); False when it is not a draft."""
        return await queries.move(
            broadcast_id,
            (BroadcastStatus.DRAFT,),
            BroadcastStatus.QUEUED,
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
        )

    async def cancel(self, broadcast_id: int) -> bool:
        """Stop a broadcast; a running sender stops before its next user. False when it already ended."""
        return await queries.move(
            broadcast_id, _CANCELLABLE, BroadcastStatus.CANCELLED, finished_at=self._clock.now()
        )

    async def get(self, broadcast_id: int) -> BroadcastInfo | None:
        row = await queries.get(broadcast_id)
        return None if row is None else broadcast_info(row)

    async def recent(self, limit: int = 5) -> list[BroadcastInfo]:
        """The newest broadcasts first."""
        return [broadcast_info(row) for row in await queries.recent(limit)]

    async def unfinished(self) -> list[int]:
        """Ids of queued or sending broadcasts, oldest first: a worker start enqueues them again (the job id
        makes that a no-op for one already queued)."""
        return await queries.ids_with_status(_UNFINISHED)
