"""Background dialog updates (a finished video) render in the user's stored language; nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram.types import TelegramObject
from aiogram_dialog.api.internal import FakeUser

from app.telegram.middlewares import BackgroundUserMiddleware
from dialogs.registry import LOCALE_KEY, SERVICES_KEY


@dataclass(frozen=True)
class Row:
    locale: str
    is_banned: bool = False


@dataclass
class StoredUsers:
    """Read-only on purpose: a background update must not write the stand-in user's empty name."""

    rows: dict[int, Row]

    async def get(self, user_id: int) -> Row | None:
        return self.rows.get(user_id)


@dataclass
class Services:
    users: StoredUsers


async def run(services: Services, data: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def handler(event: TelegramObject, data: dict[str, Any]) -> None:
        seen.update(data)

    await BackgroundUserMiddleware(services)(handler, TelegramObject(), data)
    return seen


async def test_a_known_user_gets_the_stored_locale_and_the_services() -> None:
    services = Services(StoredUsers({5: Row("en")}))

    seen = await run(services, {"event_from_user": FakeUser(id=5, is_bot=False, first_name="")})

    assert seen[LOCALE_KEY] == "en" and seen[SERVICES_KEY] is services


async def test_an_unknown_user_keeps_the_default_locale() -> None:
    seen = await run(
        Services(StoredUsers({})), {"event_from_user": FakeUser(id=6, is_bot=False, first_name="")}
    )

    assert LOCALE_KEY not in seen
