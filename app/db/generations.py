"""Queries of the generations table. Callers pass the transaction's connection where a row lock matters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q

from app.db.models import Generation, LedgerEntry
from app.domain.credits import LedgerReason
from app.domain.generations import (
    ACTIVE_STATUSES,
    MAX_ERROR_DETAIL,
    MAX_ERROR_REASON,
    Draft,
    GenerationInfo,
    GenerationStatus,
    video_format,
)

_ACTIVE = [s.value for s in ACTIVE_STATUSES]


async def by_key(conn: BaseDBAsyncClient, confirm_key: str) -> Generation | None:
    return await Generation.filter(confirm_key=confirm_key).using_db(conn).first()


async def get(generation_id: int, conn: BaseDBAsyncClient | None = None) -> Generation | None:
    return await Generation.filter(id=generation_id).using_db(conn).first()


async def lock(conn: BaseDBAsyncClient, generation_id: int) -> Generation | None:
    """The row, locked until the transaction ends; None when there is no such generation."""
    if conn.capabilities.support_for_update:
        return await Generation.select_for_update().using_db(conn).get_or_none(id=generation_id)
    # SQLite locks the whole database on the first write; the caller's ledger lock has taken it already,
    # and this no-op write makes sure of it even for a caller that starts here.
    await Generation.filter(id=generation_id).using_db(conn).update(status=F("status"))
    return await get(generation_id, conn)


async def insert(
    conn: BaseDBAsyncClient, draft: Draft, *, confirm_key: str, cost: int, now: datetime
) -> Generation:
    """A queued generation made of ``draft`` (which the caller has checked is complete)."""
    return await Generation.create(
        using_db=conn,
        user_id=draft.user_id,
        confirm_key=confirm_key,
        draft_id=draft.draft_id,
        locale=draft.locale,
        format=draft.format,
        character_id=draft.character_id,
        voice_id=draft.voice_id,
        background_key=draft.background_key,
        edited_image_key=draft.edited_image_key,
        script=draft.script,
        speech_key=draft.speech_key,
        speech_ogg_key=draft.speech_ogg_key,
        speech_seconds=draft.speech_seconds,
        speech_words_key=draft.speech_words_key,
        captions=draft.captions,
        caption_style=draft.caption_style,
        status=GenerationStatus.QUEUED.value,
        cost=cost,
        created_at=now,
    )


async def update(generation_id: int, conn: BaseDBAsyncClient | None, **values: Any) -> int:
    """Set columns of one generation; returns the number of rows changed."""
    for name, limit in (("error_reason", MAX_ERROR_REASON), ("error_detail", MAX_ERROR_DETAIL)):
        if isinstance(values.get(name), str):
            values[name] = values[name][:limit]
    changed: int = await Generation.filter(id=generation_id).using_db(conn).update(**values)
    return changed


async def update_active(generation_id: int, **values: Any) -> int:
    """Set columns of a generation that is still queued or running, in one statement; returns rows changed."""
    changed: int = await Generation.filter(id=generation_id, status__in=_ACTIVE).update(**values)
    return changed


async def set_started(generation_id: int, now: datetime) -> None:
    """Record when the worker first started the generation; a retried start keeps the first time."""
    await Generation.filter(id=generation_id, started_at__isnull=True).update(started_at=now)


async def stuck(*, silent_since: datetime, queued_before: datetime) -> list[Generation]:
    """Running rows silent since ``silent_since`` (or never heard of) and queued rows older than
    ``queued_before``, oldest first."""
    running = Q(status=GenerationStatus.RUNNING.value) & (
        Q(heartbeat_at__lt=silent_since) | Q(heartbeat_at__isnull=True, created_at__lt=silent_since)
    )
    queued = Q(status=GenerationStatus.QUEUED.value, created_at__lt=queued_before)
    return await Generation.filter(running | queued).order_by("id")


async def heartbeat_many(generation_ids: list[int], now: datetime) -> None:
    await Generation.filter(id__in=generation_ids, status__in=_ACTIVE).update(heartbeat_at=now)


async def summary(since: datetime) -> dict[str, int]:
    recent = Generation.filter(created_at__gte=since)
    done, failed = GenerationStatus.DONE.value, GenerationStatus.FAILED.value
    finished = Generation.filter(finished_at__gte=since)
    delivered = await finished.filter(refunded=False).exclude(status=failed).values_list("cost", flat=True)
    refunded = await finished.filter(refunded=True).values_list("cost", flat=True)
    return {
        "confirmed": await recent.count(),
        "delivered": len(delivered),
        "failed": len(refunded),
        "credits_spent": sum(int(str(c)) for c in delivered),
        "credits_refunded": sum(int(str(c)) for c in refunded),
        "in_progress": await Generation.filter(status__in=_ACTIVE).count(),
        "done_total": await Generation.filter(status=done).count(),
    }


async def failure_reasons(since: datetime) -> dict[str, int]:
    failed = Generation.filter(finished_at__gte=since, refunded=True)
    rows = await failed.values_list("error_reason", flat=True)
    counts: dict[str, int] = {}
    for reason in rows:
        key = str(reason or "unknown")
        counts[key] = counts.get(key, 0) + 1
    return counts


async def active_count(user_id: int, conn: BaseDBAsyncClient | None = None) -> int:
    return await Generation.filter(user_id=user_id, status__in=_ACTIVE).using_db(conn).count()


async def unfinished_ids() -> list[int]:
    """Ids of every queued or running generation, oldest first."""
    rows = await Generation.filter(status__in=_ACTIVE).order_by("id").values("id")
    return [int(row["id"]) for row in rows]


async def videos_made(user_id: int) -> int:
    """Delivered videos, counting ones the user later deleted from the list (they were made all the same)."""
    done, deleted = GenerationStatus.DONE.value, GenerationStatus.DELETED.value
    delivered = Q(status=done) | Q(status=deleted, refunded=False)
    return await Generation.filter(delivered, user_id=user_id).count()


async def visible_count(user_id: int) -> int:
    return await Generation.filter(user_id=user_id).exclude(status=GenerationStatus.DELETED.value).count()


async def visible_page(user_id: int, *, offset: int, limit: int) -> list[Generation]:
    """The user's generations newest first, deleted ones left out."""
    return (
        await Generation.filter(user_id=user_id)
        .exclude(status=GenerationStatus.DELETED.value)
        .order_by("-created_at", "-id")
        .offset(offset)
        .limit(limit)
    )


async def delete_finished(user_id: int, generation_id: int) -> bool:
    """Mark the user's own finished generation deleted; False for another's, an active or a missing one."""
    finished = [GenerationStatus.DONE.value, GenerationStatus.FAILED.value]
    changed = await Generation.filter(id=generation_id, user_id=user_id, status__in=finished).update(
        status=GenerationStatus.DELETED.value
    )
    return changed == 1


async def look_edits_kept(conn: BaseDBAsyncClient, user_id: int, draft_id: str) -> int:
    """Look edits of a draft that were charged and not refunded (both rows carry the draft id as ``ref``)."""
    base = LedgerEntry.filter(user_id=user_id, ref=draft_id).using_db(conn)
    charged = await base.filter(reason=LedgerReason.LOOK_EDIT.value).count()
    refunded = await base.filter(reason=LedgerReason.REFUND.value).count()
    return charged - refunded


def info(row: Generation) -> GenerationInfo:
    return GenerationInfo(
        id=row.id,
        user_id=row.user_id,
        format=video_format(row.format),
        character_id=row.character_id,
        voice_id=row.voice_id,
        script=row.script,
        status=GenerationStatus(row.status),
        step=row.step,
        cost=row.cost,
        error_reason=row.error_reason,
        video_key=row.video_key,
        audio_key=row.audio_key,
        video_file_id=row.video_file_id,
        audio_file_id=row.audio_file_id,
        created_at=row.created_at,
        finished_at=row.finished_at,
        refunded=row.refunded,
        draft_id=row.draft_id,
        locale=row.locale,
        background_key=row.background_key,
        edited_image_key=row.edited_image_key,
        speech_key=row.speech_key,
        speech_ogg_key=row.speech_ogg_key,
        speech_seconds=row.speech_seconds,
        started_at=row.started_at,
        error_detail=row.error_detail,
        speech_words_key=row.speech_words_key,
        captions=row.captions,
        caption_style=row.caption_style,
        thumb_key=row.thumb_key,
        video_width=row.video_width,
        video_height=row.video_height,
        video_seconds=row.video_seconds,
        attempts=row.attempts,
        heartbeat_at=row.heartbeat_at,
    )
