"""Users: who they are to the bot, their language and what their profile shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.domain.credits import Credits

# Telegram allows deep-link payloads of up to 64 characters.
MAX_START_PAYLOAD = 64
MAX_USERNAME = 64
MAX_FIRST_NAME = 128
MAX_LOCALE = 8


class TelegramUser(Protocol):
    """The fields of a Telegram user the bot keeps (aiogram's ``User`` fits)."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str | None: ...

    @property
    def first_name(self) -> str: ...

    @property
    def language_code(self) -> str | None: ...


class UnsupportedLocaleError(ValueError):
    """A locale the bot has no texts for."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str | None
    first_name: str
    locale: str
    balance: Credits
    is_banned: bool
    created_at: datetime
    registered: bool
    """True once /start has run for this user (the welcome bonus is granted then)."""


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: int
    balance: Credits
    videos: int
    member_since: datetime
    locale: str


def locale_from_language_code(code: str | None, supported: Sequence[str], default: str) -> str:
    """The supported locale matching Telegram's ``language_code`` (``en-GB`` → ``en``), else ``default``."""
    if not code:
        return default
    primary = code.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in supported else default


def normalize_start_payload(payload: object) -> str | None:
    """The deep-link payload worth keeping: stripped, at most 64 characters, ``None`` when empty."""
    if not isinstance(payload, str):
        return None
    text = payload.strip()
    return text[:MAX_START_PAYLOAD] or None


def clip(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters, so an unexpectedly long Telegram name never fails an insert."""
    return None if text is None else text[:limit]
