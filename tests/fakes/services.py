"""In-memory stand-ins for the database-backed services, with the same methods and the same domain rules."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.domain.credits import (
    IdempotencyConflict,
    LedgerEntryInfo,
    LedgerReason,
    UnknownUserError,
    apply_delta,
    audit_reason,
    signed_delta,
    validate_key,
    welcome_key,
)
from app.domain.users import (
    Profile,
    TelegramUser,
    UnsupportedLocaleError,
    UserInfo,
    locale_from_language_code,
    normalize_start_payload,
)
from app.services.captions.style import load_caption_styles
from app.services.catalog import Catalog
from app.services.container import Services
from app.services.faq import FaqCatalog
from app.services.pricing import load_pricing
from app.services.providers import ProviderCost
from dialogs.i18n import TextCatalog

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("ru", "en")


@dataclass
class FixedClock:
    """A clock that stands still until a test moves it."""

    moment: datetime = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class FakeLedger:
    clock: FixedClock
    balances: dict[int, int] = field(default_factory=dict)
    entries: list[LedgerEntryInfo] = field(default_factory=list)

    async def credit(
        self,
        user_id: int,
        amount: int,
        reason: LedgerReason | str,
        key: str,
        *,
        note: str | None = None,
        ref: str | None = None,
    ) -> LedgerEntryInfo:
        return self._post(
            user_id, signed_delta(amount, reason, credit=True), LedgerReason(reason), key, note=note, ref=ref
        )

    async def debit(
        self,
        user_id: int,
        amount: int,
        reason: LedgerReason | str,
        key: str,
        *,
        note: str | None = None,
        ref: str | None = None,
    ) -> LedgerEntryInfo:
        return self._post(
            user_id, signed_delta(amount, reason, credit=False), LedgerReason(reason), key, note=note, ref=ref
        )

    async def credit_in(
        self,
        conn: object,
        user_id: int,
        amount: int,
        reason: LedgerReason | str,
        key: str,
        *,
        note: str | None = None,
        ref: str | None = None,
    ) -> LedgerEntryInfo:
        """The fake has no transactions: ``conn`` is ignored."""
        return await self.credit(user_id, amount, reason, key, note=note, ref=ref)

    async def debit_in(
        self,
        conn: object,
        user_id: int,
        amount: int,
        reason: LedgerReason | str,
        key: str,
        *,
        note: str | None = None,
        ref: str | None = None,
    ) -> LedgerEntryInfo:
        return await self.debit(user_id, amount, reason, key, note=note, ref=ref)

    async def record_in(
        self,
        conn: object,
        user_id: int,
        reason: LedgerReason | str,
        key: str,
        *,
        note: str | None = None,
        ref: str | None = None,
    ) -> LedgerEntryInfo:
        return self._post(user_id, 0, audit_reason(reason), key, note=note, ref=ref)

    async def entry(self, key: str, conn: object = None) -> LedgerEntryInfo | None:
        return next((e for e in self.entries if e.idempotency_key == key), None)

    async def balance(self, user_id: int) -> int:
        if user_id not in self.balances:
            raise UnknownUserError(user_id)
        return self.balances[user_id]

    async def history(self, user_id: int, limit: int = 10) -> list[LedgerEntryInfo]:
        return [e for e in reversed(self.entries) if e.user_id == user_id][:limit]

    def _post(
        self, user_id: int, delta: int, reason: LedgerReason, key: str, *, note: str | None, ref: str | None
    ) -> LedgerEntryInfo:
        validate_key(key)
        if user_id not in self.balances:
            raise UnknownUserError(user_id)
        for entry in self.entries:
            if entry.idempotency_key == key:
                if (entry.user_id, entry.delta, entry.reason) != (user_id, delta, reason):
                    raise IdempotencyConflict(key, f"user {entry.user_id}")
                return replace(entry, replayed=True)
        after = apply_delta(user_id, self.balances[user_id], delta)
        entry = LedgerEntryInfo(
            id=len(self.entries) + 1,
            user_id=user_id,
            delta=delta,
            reason=reason,
            idempotency_key=key,
            balance_after=after,
            created_at=self.clock.now(),
            note=note,
            ref=ref,
        )
        self.entries.append(entry)
        self.balances[user_id] = after
        return entry


@dataclass
class FakeUsers:
    ledger: FakeLedger
    clock: FixedClock
    locales: tuple[str, ...] = LOCALES
    default_locale: str = "ru"
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)

    async def ensure_user(self, tg_user: TelegramUser) -> UserInfo:
        row = self.rows.get(tg_user.id)
        if row is None:
            locale = locale_from_language_code(tg_user.language_code, self.locales, self.default_locale)
            row = self.rows[tg_user.id] = {
                "locale": locale,
                "created_at": self.clock.now(),
                "registered": False,
                "payload": None,
                "is_banned": False,
            }
            self.ledger.balances[tg_user.id] = 0
        row.update(username=tg_user.username, first_name=tg_user.first_name)
        return self._info(tg_user.id)

    async def get(self, user_id: int) -> UserInfo | None:
        return self._info(user_id) if user_id in self.rows else None

    async def register(self, user_id: int, payload: object, welcome_bonus: int) -> bool:
        row = self._row(user_id)
        if row["registered"]:
            return False
        if welcome_bonus > 0:
            await self.ledger.credit(user_id, welcome_bonus, LedgerReason.WELCOME_BONUS, welcome_key(user_id))
        row.update(registered=True, payload=normalize_start_payload(payload))
        return True

    async def set_locale(self, user_id: int, locale: str) -> None:
        if locale not in self.locales:
            raise UnsupportedLocaleError(locale)
        self._row(user_id)["locale"] = locale

    async def profile(self, user_id: int) -> Profile:
        row = self._row(user_id)
        return Profile(user_id, self.ledger.balances[user_id], 0, row["created_at"], row["locale"])

    def _row(self, user_id: int) -> dict[str, Any]:
        if user_id not in self.rows:
            raise UnknownUserError(user_id)
        return self.rows[user_id]

    def _info(self, user_id: int) -> UserInfo:
        row = self.rows[user_id]
        return UserInfo(
            id=user_id,
            username=row["username"],
            first_name=row["first_name"],
            locale=row["locale"],
            balance=self.ledger.balances[user_id],
            is_banned=row["is_banned"],
            created_at=row["created_at"],
            registered=row["registered"],
        )


def repo_texts() -> TextCatalog:
    return TextCatalog.load(ROOT / "catalog" / "texts", LOCALES, "ru")


def repo_faq() -> FaqCatalog:
    return FaqCatalog.load(ROOT / "catalog" / "faq.yaml", LOCALES, "ru")


def repo_caption_styles() -> tuple[str, ...]:
    """The style names of catalog/captions.yaml, the default first (as the composition root passes them)."""
    styles = load_caption_styles(ROOT / "catalog" / "captions.yaml")
    return (styles.default, *(name for name in styles.names if name != styles.default))


class FakeCosts:
    """The cost ledger in memory: what a hook recorded, in order."""

    def __init__(self) -> None:
        self.recorded: list[tuple[ProviderCost, str, int | None, int | None]] = []

    async def record(
        self,
        cost: ProviderCost | None,
        *,
        purpose: str,
        user_id: int | None = None,
        generation_id: int | None = None,
    ) -> bool:
        if cost is None:
            return False
        self.recorded.append((cost, purpose, user_id, generation_id))
        return True

    async def totals(self, since: datetime | None = None) -> list[Any]:
        return []


def fake_services(
    *,
    welcome_bonus: int = 50,
    texts: TextCatalog | None = None,
    faq: FaqCatalog | None = None,
    clock: FixedClock | None = None,
    locales: Sequence[str] = LOCALES,
) -> Services:
    """A ``Services`` over the fakes, with the repository's texts, FAQ, catalog and prices unless given."""
    # Imported here: these fakes build on the ones above.
    from app.services.storage.copies import LocalCopies
    from tests.fakes.generations import FakeGenerations
    from tests.fakes.renders import (
        CopyEditor,
        MemoryStorage,
        MemoryThrottle,
        RecordingQueue,
        ScriptedSpeech,
        StillVideo,
    )

    clock = clock or FixedClock()
    ledger = FakeLedger(clock)
    users = FakeUsers(ledger, clock, tuple(locales))
    pricing = load_pricing(ROOT / "catalog" / "pricing.yaml")
    storage = MemoryStorage()
    scratch = Path(tempfile.gettempdir()) / "ugcbot-fake-scratch"
    return Services(
        users=users,  # type: ignore[arg-type]  # duck-typed stand-in, checked by test_fakes_match
        ledger=ledger,  # type: ignore[arg-type]
        faq=faq or repo_faq(),
        texts=texts or repo_texts(),
        welcome_bonus=welcome_bonus,
        locales=tuple(locales),
        clock=clock,
        catalog=Catalog.load(ROOT / "catalog", tuple(locales), "ru"),
        pricing=pricing,
        generations=FakeGenerations(ledger, pricing, clock),  # type: ignore[arg-type]
        storage=storage,
        speech=ScriptedSpeech(),
        image_editor=CopyEditor(),
        video_maker=StillVideo(),
        jobs=RecordingQueue(),
        scratch_dir=scratch,
        files=LocalCopies(storage, scratch / "copies"),
        throttle=MemoryThrottle(),  # type: ignore[arg-type]  # duck-typed stand-in
        previews_per_hour=5,
        costs=FakeCosts(),  # type: ignore[arg-type]  # duck-typed stand-in, checked by test_fakes_match
        caption_styles=repo_caption_styles(),
    )
