"""Users on SQLite and PostgreSQL: first sight, /start with its one-time bonus, language, profile."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest

from app.db.models import LedgerEntry, User
from app.domain.credits import LedgerReason, UnknownUserError
from app.domain.users import UnsupportedLocaleError
from app.services.ledger import Ledger
from app.services.users import UserService
from tests.fakes.services import FixedClock

pytestmark = pytest.mark.usefixtures("db")


@dataclass(frozen=True)
class TgUser:
    id: int
    first_name: str = "Anna"
    username: str | None = "anna"
    language_code: str | None = "ru"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def users(clock: FixedClock) -> UserService:
    return UserService(Ledger(clock), clock, ("ru", "en"), "ru")


@pytest.mark.parametrize(
    ("language_code", "locale"), [("en", "en"), ("en-GB", "en"), ("ru", "ru"), ("de", "ru"), (None, "ru")]
)
async def test_first_sight_creates_the_user_in_their_telegram_language(
    users: UserService, clock: FixedClock, language_code: str | None, locale: str
) -> None:
    info = await users.ensure_user(TgUser(10, language_code=language_code))

    assert (info.id, info.first_name, info.username, info.locale) == (10, "Anna", "anna", locale)
    assert (info.balance, info.registered, info.is_banned, info.created_at) == (0, False, False, clock.now())


async def test_names_follow_telegram_but_the_chosen_language_stays(
    users: UserService, clock: FixedClock
) -> None:
    await users.ensure_user(TgUser(11, language_code="en"))
    await users.set_locale(11, "ru")
    clock.advance(days=1)

    info = await users.ensure_user(TgUser(11, first_name="Anya", username=None, language_code="en"))

    assert (info.first_name, info.username, info.locale) == ("Anya", None, "ru")
    row = await User.get(id=11)
    assert (row.first_name, row.username) == ("Anya", None)
    assert row.last_seen_at == clock.now() - timedelta(days=1), "activity is the ActivityRecorder's to write"


async def test_welcome_bonus_is_granted_once_and_the_first_payload_is_kept(users: UserService) -> None:
    await users.ensure_user(TgUser(12))

    assert await users.register(12, "ref_42", welcome_bonus=50) is True
    assert await users.register(12, "ref_other", welcome_bonus=50) is False

    info = await users.get(12)
    assert info is not None and info.registered and info.balance == 50
    entries = await LedgerEntry.filter(user_id=12)
    assert [(e.delta, e.reason, e.idempotency_key) for e in entries] == [
        (50, LedgerReason.WELCOME_BONUS.value, "welcome:12")
    ]
    assert (await User.get(id=12)).start_payload == "ref_42"


async def test_concurrent_first_starts_grant_the_bonus_once(users: UserService) -> None:
    await users.ensure_user(TgUser(13))

    results = await asyncio.gather(*(users.register(13, None, welcome_bonus=50) for _ in range(5)))

    assert sorted(results) == [False, False, False, False, True]
    assert (await users.profile(13)).balance == 50
    assert await LedgerEntry.filter(user_id=13).count() == 1


async def test_concurrent_first_sight_creates_one_row(users: UserService) -> None:
    infos = await asyncio.gather(*(users.ensure_user(TgUser(14)) for _ in range(5)))

    assert {i.id for i in infos} == {14}
    assert await User.filter(id=14).count() == 1


async def test_a_zero_bonus_registers_without_a_ledger_row(users: UserService) -> None:
    await users.ensure_user(TgUser(15))

    assert await users.register(15, "", welcome_bonus=0) is True
    assert (await users.profile(15)).balance == 0
    assert await LedgerEntry.filter(user_id=15).count() == 0
    assert (await User.get(id=15)).start_payload is None


async def test_language_switch_and_profile(users: UserService, clock: FixedClock) -> None:
    await users.ensure_user(TgUser(16, language_code="ru"))
    await users.register(16, None, welcome_bonus=50)

    await users.set_locale(16, "en")
    with pytest.raises(UnsupportedLocaleError):
        await users.set_locale(16, "de")

    profile = await users.profile(16)
    assert (profile.user_id, profile.balance, profile.videos, profile.locale) == (16, 50, 0, "en")
    assert profile.member_since == clock.now()


async def test_unknown_users_are_reported(users: UserService) -> None:
    with pytest.raises(UnknownUserError):
        await users.register(404, None, welcome_bonus=50)
    with pytest.raises(UnknownUserError):
        await users.set_locale(404, "en")
    with pytest.raises(UnknownUserError):
        await users.profile(404)
    assert await users.get(404) is None


async def test_a_user_who_blocked_the_bot_and_writes_again_gets_broadcasts_again(
    users: UserService, clock: FixedClock
) -> None:
    await users.ensure_user(TgUser(14))
    await User.filter(id=14).update(blocked_at=clock.now())  # a broadcast found the bot blocked

    await users.ensure_user(TgUser(14))

    assert (await User.get(id=14)).blocked_at is None
