"""Scheduled tasks of the workers (arq cron; each tick runs on one worker only): the reaper of stuck
generations, temp-file cleanup and the daily summary to the admin chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from app.db import broadcasts as broadcast_queries
from app.jobs.pipeline import Pipeline
from app.jobs.queue import ArqJobQueue
from app.logs import get_logger
from app.services.clock import Clock
from app.services.generations import Generations

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ReaperReport:
    released: tuple[int, ...] = ()
    """Running generations whose worker died: their job was freed for another worker."""
    requeued: tuple[int, ...] = ()
    """Generations the queue had lost (Redis restarted empty, an enqueue that failed): queued again."""
    failed: tuple[int, ...] = ()
    """Generations past the deadline or out of attempts: failed and refunded."""
    broadcasts: tuple[int, ...] = ()
    """Broadcasts whose sender died (their job freed) or whose job was lost (queued again)."""


@dataclass
class Reaper:
    generations: Generations
    queue: ArqJobQueue
    pipeline: Pipeline
    clock: Clock
    stale_after: float = 90.0
    deadline: float = 3 * 3600.0
    max_take_ups: int = 5

    async def run(self) -> ReaperReport:
        now = self.clock.now()
        silent_since = now - timedelta(seconds=self.stale_after)
        stuck = await self.generations.stuck(silent_since=silent_since, queued_before=silent_since)
        released: list[int] = []
        requeued: list[int] = []
        failed: list[int] = []
        for info in stuck:
            age = (now - info.created_at).total_seconds()
            if age > self.deadline or info.attempts >= self.max_take_ups:
                why = f"unfinished after {age:.0f} s and {info.attempts} attempts"
                await self.pipeline.abandon(info.id, "timeout", why)
                failed.append(info.id)
            elif await self.queue.has_job(info.id):
                # Running and silent, or still queued although a worker took the job (it died before it
                # could mark the generation running): either way no one is working on it.
                if await self.queue.release(info.id):
                    released.append(info.id)
            else:
                await self.queue.enqueue(info.id)
                requeued.append(info.id)
        revived = await self._broadcasts(silent_since)
        report = ReaperReport(tuple(released), tuple(requeued), tuple(failed), tuple(revived))
        if released or requeued or failed or revived:
            log.warning("reaper", released=released, requeued=requeued, failed=failed, broadcasts=revived)
        return report

    async def _broadcasts(self, silent_since: datetime) -> list[int]:
        """A broadcast whose sender stopped beating is sent on by another worker (it never sends twice)."""
        revived: list[int] = []
        for row in await broadcast_queries.silent(since=silent_since):
            if await self.queue.has_broadcast_job(row.id):
                if await self.queue.release_broadcast(row.id):
                    revived.append(row.id)
            else:
                await self.queue.enqueue_broadcast(row.id)
                revived.append(row.id)
        return revived


@dataclass
class TempCleanup:
    """Removes work files nobody needs any more: renders' leftovers, the local provider's spool, cached
    copies of stored objects; and, for local storage, draft uploads under ``tmp/`` (S3 expires those with a
    bucket lifecycle rule)."""

    scratch_dir: Path
    storage_tmp: Path | None
    scratch_max_age: float = 24 * 3600.0
    tmp_max_age: float = 7 * 24 * 3600.0

    async def run(self) -> int:
        return await asyncio.to_thread(self._sweep)

    def _sweep(self) -> int:
        now = time.time()
        removed = _remove_older(self.scratch_dir, now - self.scratch_max_age, keep_top=True)
        if self.storage_tmp is not None:
            removed += _remove_older(self.storage_tmp, now - self.tmp_max_age, keep_top=True)
        if removed:
            log.info("temp cleanup", removed=removed)
        return removed


def _remove_older(root: Path, cutoff: float, *, keep_top: bool) -> int:
    """Files under ``root`` last changed before ``cutoff``, and the folders they leave empty."""
    if not root.is_dir():
        return 0
    removed = 0
    # Taking a file out of a folder makes the folder look fresh: remember the ones this sweep emptied.
    emptied: set[Path] = set()
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        try:
            if path.is_file() or path.is_symlink():
                if path.lstat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
                    emptied.add(path.parent)
            elif (
                path.is_dir()
                and not any(path.iterdir())
                and (path in emptied or path.stat().st_mtime < cutoff)
            ):
                # rmdir, not rmtree: a file a job writes there this very moment stays.
                path.rmdir()
                emptied.add(path.parent)
        except OSError:
            continue
    return removed


@dataclass
class DailySummary:
    """Yesterday in numbers, to the admin chat (or every admin)."""

    bot: Bot
    generations: Generations
    clock: Clock
    chats: Sequence[int]

    def text(self, numbers: dict[str, int], reasons: dict[str, int]) -> str:
        lines = [
            "📊 UGC Bot — last 24 h",
            f"Videos confirmed: {numbers['confirmed']}",
            f"Delivered: {numbers['delivered']} · failed (refunded): {numbers['failed']}",
            f"Credits spent: {numbers['credits_spent']} · refunded: {numbers['credits_refunded']}",
            f"In progress now: {numbers['in_progress']}",
        ]
        if reasons:
            top = ", ".join(
                f"{reason} × {count}" for reason, count in sorted(reasons.items(), key=lambda r: -r[1])
            )
            lines.append(f"Failure reasons: {top}")
        return "\n".join(lines)

    async def run(self) -> str:
        since = self.clock.now() - timedelta(days=1)
        text = self.text(await self.generations.summary(since), await self.generations.failure_reasons(since))
        for chat in self.chats:
            try:
                await self.bot.send_message(chat, text)
            except TelegramAPIError as exc:
                log.warning("daily summary not delivered", chat_id=chat, error=str(exc))
        return text
