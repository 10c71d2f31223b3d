"""Users: first sight, registration with the welcome bonus, language and profile."""

from __future__ import annotations

from collections.abc import Sequence

from app.db import generations as generation_queries
from app.db import users as queries
from app.domain.credits import LedgerReason, UnknownUserError, welcome_key
from app.domain.users import (
    MAX_FIRST_NAME,
    MAX_USERNAME,
    Profile,
    TelegramUser,
    UnsupportedLocaleError,
    UserInfo,
    clip,
    locale_from_language_code,
    normalize_start_payload,
)
from app.services.clock import Clock
from app.services.ledger import Ledger


class UserService:
    def __init__(self, ledger: Ledger, clock: Clock, locales: Sequence[str], default_locale: str) -> None:
        if default_locale not in locales:
            raise ValueError(f"default locale {default_locale!r} is not one of {list(locales)}")
        self._ledger = ledger
        self._clock = clock
        self._locales = tuple(locales)
        self._default_locale = default_locale

    @property
    def locales(self) -> tuple[str, ...]:
        return self._locales

    async def ensure_user(self, tg_user: TelegramUser) -> UserInfo:
        """The user's row, created on first sight (locale from Telegram's language); names kept up to date."""
        now = self._clock.now()
        username = clip(tg_user.username, MAX_USERNAME)
        first_name = clip(tg_user.first_name, MAX_FIRST_NAME) or ""
        user = await queries.get_user(tg_user.id)
        if user is None:
            locale = locale_from_language_code(tg_user.language_code, self._locales, self._default_locale)
            user, created = await queries.create_user(
                user_id=tg_user.id, username=username, first_name=first_name, locale=locale, now=now
            )
            if created:
                return queries.user_info(user)
        changes: dict[str, object] = {}
        if user.username != username:
            changes["username"] = username
        if user.first_name != first_name:
            changes["first_name"] = first_name
        if user.blocked_at is not None:
            # They write again, so they unblocked the bot: broadcasts reach them again.
            changes["blocked_at"] = None
        # last_seen_at and the update count are the ActivityRecorder's: batched, never one write per update.
        if changes:
            await queries.update_user(user.id, **changes)
            for name, value in changes.items():
                setattr(user, name, value)
        return queries.user_info(user)

    async def get(self, user_id: int) -> UserInfo | None:
        user = await queries.get_user(user_id)
        return None if user is None else queries.user_info(user)

    async def register(self, user_id: int, payload: object, welcome_bonus: int) -> bool:
        """Handle /start: True only the first time, when the bonus is granted and the deep link kept."""
        user = await queries.get_user(user_id)
        if user is None:
            raise UnknownUserError(user_id)
        if user.registered_at is not None:
            return False
        # The bonus goes first: its key makes it happen once even if we crash before marking the registration.
        if welcome_bonus > 0:
            key = welcome_key(user_id)
            await self._ledger.credit(user_id, welcome_bonus, LedgerReason.WELCOME_BONUS, key)
        return await queries.mark_registered(
            user_id, now=self._clock.now(), start_payload=normalize_start_payload(payload)
        )

    async def set_locale(self, user_id: int, locale: str) -> None:
        if locale not in self._locales:
            raise UnsupportedLocaleError(f"locale {locale!r} is not one of {list(self._locales)}")
        if not await queries.update_user(user_id, locale=locale):
            raise UnknownUserError(user_id)

    async def profile(self, user_id: int) -> Profile:
        user = await queries.get_user(user_id)
        if user is None:
            raise UnknownUserError(user_id)
        return Profile(
            user_id=user.id,
            balance=user.balance,
            videos=await generation_queries.videos_made(user.id),
            member_since=user.created_at,
            locale=user.locale,
        )
