"""Queries of the users table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from app.db.models import User
from app.domain.users import UserInfo


async def get_user(user_id: int) -> User | None:
    return await User.get_or_none(id=user_id)


async def create_user(
    *, user_id: int, username: str | None, first_name: str, locale: str, now: datetime
) -> tuple[User, bool]:
    """The user's row and whether this call created it (a concurrent first update may have won the race)."""
    try:
        user = await User.create(
            id=user_id,
            username=username,
            first_name=first_name,
            locale=locale,
            created_at=now,
            last_seen_at=now,
        )
    except IntegrityError:
        return await User.get(id=user_id), False
    return user, True


async def update_user(user_id: int, **values: Any) -> int:
    """Set columns of one user; returns the number of rows changed (0 for an unknown user)."""
    changed: int = await User.filter(id=user_id).update(**values)
    return changed


async def mark_registered(user_id: int, *, now: datetime, start_payload: str | None) -> bool:
    """Record the first /start; False when it was already recorded (or the user is unknown)."""
    changed = await User.filter(id=user_id, registered_at__isnull=True).update(
        registered_at=now, start_payload=start_payload
    )
    return changed == 1


def user_info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        username=user.username,
        first_name=user.first_name,
        locale=user.locale,
        balance=user.balance,
        is_banned=user.is_banned,
        created_at=user.created_at,
        registered=user.registered_at is not None,
    )
