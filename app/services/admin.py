"""What admins do to users and videos from the admin panel (A2): look a user up, grant or revoke credits,
ban, retry a failed video, refund one by hand. Every action is written to ``admin_actions`` with who did it
and logged; credits move only through the ledger, under keys that make a repeated click a no-op."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.db import generations as generation_queries
from app.db.models import AdminAction, Generation, User
from app.domain.credits import InsufficientCredits, LedgerEntryInfo, LedgerReason
from app.domain.generations import Draft, GenerationInfo, GenerationStatus
from app.domain.users import UserInfo
from app.logs import get_logger
from app.services.clock import Clock
from app.services.generations import Generations
from app.services.ledger import Ledger
from app.services.providers import JobQueue
from app.services.users import UserService

log = get_logger(__name__)

MAX_GRANT = 100_000
MIN_REASON, MAX_REASON = 3, 200
_USERNAME = re.compile(r"^@?([A-Za-z0-9_]{3,32})$")
_AMOUNT_AND_REASON = re.compile(r"^\s*(\d{1,9})\s+(.+?)\s*$", re.DOTALL)


Abandon = Callable[[int, str, str], Awaitable[None]]


class AdminInputError(ValueError):
    """An admin's input that cannot be used; ``key`` is the text under ``admin.errors.`` that says why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class UserCard:
    user: UserInfo
    last_seen: str
    updates: int
    blocked: bool
    videos: list[GenerationInfo]
    ledger: list[LedgerEntryInfo]


def parse_amount_and_reason(text: str) -> tuple[int, str]:
    """``"100 compensation for #42"`` → (100, "compensation for #42"); AdminInputError when it is not that."""
    match = _AMOUNT_AND_REASON.match(text or "")
    if match is None:
        raise AdminInputError("amount_format")
    amount, reason = int(match[1]), match[2]
    if not 1 <= amount <= MAX_GRANT:
        raise AdminInputError("amount_range", max=MAX_GRANT)
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise AdminInputError("reason_length", min=MIN_REASON, max=MAX_REASON)
    return amount, reason


class AdminDesk:
    def __init__(
        self,
        *,
        users: UserService,
        ledger: Ledger,
        generations: Generations,
        jobs: JobQueue,
        clock: Clock,
        abandon: Abandon,
    ) -> None:
        """``abandon(generation_id, reason, detail)`` fails a video, refunds it once and tells its user (the
        pipeline's, which the reaper uses too)."""
        self._abandon = abandon
        self._users = users
        self._ledger = ledger
        self._generations = generations
        self._jobs = jobs
        self._clock = clock

    async def find_user(self, query: str) -> UserInfo | None:
        """By Telegram id (digits) or @username (with or without the @, any letter case)."""
        text = (query or "").strip()
        if text.isdigit() and len(text) <= 19:
            return await self._users.get(int(text))
        match = _USERNAME.match(text)
        if match is None:
            raise AdminInputError("lookup_format")
        row = (
            await User.filter(username=match[1]).first()
            or await User.filter(username__iexact=match[1]).first()
        )
        return None if row is None else await self._users.get(row.id)

    async def card(self, user_id: int) -> UserCard | None:
        user = await self._users.get(user_id)
        row = await User.filter(id=user_id).first()
        if user is None or row is None:
            return None
        rows = await Generation.filter(user_id=user_id).order_by("-created_at").limit(5)
        videos = [generation_queries.info(row) for row in rows]
        return UserCard(
            user=user,
            last_seen=row.last_seen_at.strftime("%Y-%m-%d %H:%M UTC"),
            updates=row.updates_count,
            blocked=row.blocked_at is not None,
            videos=videos,
            ledger=await self._ledger.history(user_id, limit=10),
        )

    async def grant(
        self, admin_id: int, user_id: int, amount: int, reason: str, *, key: str
    ) -> LedgerEntryInfo:
        entry = await self._ledger.credit(
            user_id,
            amount,
            LedgerReason.ADMIN_GRANT,
            f"admin_grant:{key}",
            note=reason,
            ref=f"admin:{admin_id}",
        )
        if not entry.replayed:  # the same message delivered twice grants (and is recorded) once
            await self.audit(admin_id, "grant", f"+{amount}: {reason}", user_id=user_id)
        return entry

    async def revoke(
        self, admin_id: int, user_id: int, amount: int, reason: str, *, key: str
    ) -> LedgerEntryInfo:
        """Take credits back; never below zero (AdminInputError says how many the user has)."""
        try:
            entry = await self._ledger.debit(
                user_id, amount, LedgerReason.ADMIN_REVOKE, f"admin_revoke:{key}", note=reason,
                ref=f"admin:{admin_id}",
            )  # fmt: skip
        except InsufficientCredits as exc:
            raise AdminInputError("revoke_too_much", balance=exc.balance, amount=amount) from None
        if not entry.replayed:
            await self.audit(admin_id, "revoke", f"-{amount}: {reason}", user_id=user_id)
        return entry

    async def set_banned(self, admin_id: int, user_id: int, banned: bool) -> bool:
        """Ban or unban; False when nothing changed (already so, or no such user)."""
        changed = await User.filter(id=user_id, is_banned=not banned).update(is_banned=banned)
        if changed:
            await self.audit(admin_id, "ban" if banned else "unban", "", user_id=user_id)
        return bool(changed)

    async def jobs(self, limit: int = 20) -> list[GenerationInfo]:
        """Generations queued or running (oldest first), then the latest failed ones."""
        active = await Generation.filter(status__in=["queued", "running"]).order_by("created_at").limit(limit)
        failed = await Generation.filter(status="failed").order_by("-finished_at").limit(limit)
        return [generation_queries.info(row) for row in [*active, *failed][:limit]]

    async def retry(self, admin_id: int, generation_id: int) -> int:
        """Make a failed video again as a new generation, paid from the user's balance like the first one
        (grant credits first to make it free); a second click retries nothing more. Returns the new id."""
        info = await self._generations.get(generation_id)
        if info is None:
            raise AdminInputError("no_video", id=generation_id)
        if info.status != GenerationStatus.FAILED:
            raise AdminInputError("retry_not_failed", id=generation_id)
        draft = Draft(
            user_id=info.user_id,
            draft_id=info.draft_id,
            format=info.format,
            background_key=info.background_key,
            character_id=info.character_id,
            edited_image_key=info.edited_image_key,
            voice_id=info.voice_id,
            script=info.script,
            speech_key=info.speech_key,
            speech_ogg_key=info.speech_ogg_key,
            speech_seconds=info.speech_seconds,
            speech_words_key=info.speech_words_key,
            locale=info.locale,
            captions=info.captions,
            caption_style=info.caption_style,
        )
        try:
            result = await self._generations.confirm(draft, key=f"admin_retry:{generation_id}")
        except InsufficientCredits as exc:
            raise AdminInputError("retry_no_credits", balance=exc.balance, cost=exc.requested) from None
        if result.created:
            await self.audit(admin_id, "retry", f"as #{result.generation_id}", generation_id=generation_id,
                              user_id=info.user_id)  # fmt: skip
        await self._jobs.enqueue(result.generation_id)
        return result.generation_id

    async def refund(self, admin_id: int, generation_id: int) -> GenerationInfo:
        """Stop a queued or running video and give its credits back (the worker notices and stops)."""
        info = await self._generations.get(generation_id)
        if info is None:
            raise AdminInputError("no_video", id=generation_id)
        if info.status not in (GenerationStatus.QUEUED, GenerationStatus.RUNNING):
            raise AdminInputError("refund_not_active", id=generation_id)
        await self._abandon(generation_id, "cancelled_by_admin", f"refunded by admin {admin_id}")
        await self.audit(admin_id, "refund", "", generation_id=generation_id, user_id=info.user_id)
        done = await self._generations.get(generation_id)
        assert done is not None  # generations are never deleted from the table
        return done

    async def audit(
        self,
        admin_id: int,
        action: str,
        detail: str,
        *,
        user_id: int | None = None,
        generation_id: int | None = None,
    ) -> None:
        await AdminAction.create(
            admin_id=admin_id,
            action=action,
            target_user_id=user_id,
            target_generation_id=generation_id,
            detail=detail[:500],
            created_at=self._clock.now(),
        )
        log.info("admin action", admin_id=admin_id, action=action, user_id=user_id,
                 generation_id=generation_id, detail=detail)  # fmt: skip
