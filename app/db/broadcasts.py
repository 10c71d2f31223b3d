"""Queries of broadcasts and their deliveries, and the audience they go to."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from app.db.models import Broadcast, BroadcastDelivery, User

# The error column is a VARCHAR(255): longer API descriptions are cut.
MAX_ERROR = 255


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    DELIVERED = "delivered"
    BLOCKED = "blocked"
    FAILED = "failed"


def audience(
    *, active_days: int | None, at: datetime, registered_by: datetime | None = None
) -> QuerySet[User]:
    """Users a broadcast goes to: registered, not banned, not known to have blocked the bot, and — with
    ``active_days`` — seen in the ``active_days`` days before ``at``.

    ``registered_by`` freezes the audience of a running broadcast: users who arrive while it is sent are not
    added to it, so its total stays the one the admin saw.
    """
    query = User.filter(is_banned=False, blocked_at__isnull=True, registered_at__isnull=False)
    if registered_by is not None:
        query = query.filter(registered_at__lte=registered_by)
    if active_days is not None:
        query = query.filter(last_seen_at__gte=at - timedelta(days=active_days))
    return query


async def audience_size(
    *, active_days: int | None, at: datetime, registered_by: datetime | None = None
) -> int:
    return await audience(active_days=active_days, at=at, registered_by=registered_by).count()


async def next_recipients(
    broadcast_id: int, *, active_days: int | None, after_user_id: int, limit: int, started_at: datetime
) -> list[int]:
    """The next ``limit`` of a started broadcast's audience by user id after ``after_user_id``, leaving out
    users who already have a delivery row."""
    done = BroadcastDelivery.filter(broadcast_id=broadcast_id).values("user_id")
    ids: list[Any] = (
        await audience(active_days=active_days, at=started_at, registered_by=started_at)
        .filter(id__gt=after_user_id)
        .exclude(id__in=Subquery(done))
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    return [int(user_id) for user_id in ids]


async def create(
    *,
    admin_id: int,
    text: str,
    photo_file_id: str | None,
    active_days: int | None,
    total: int,
    now: datetime,
    entities: str | None = None,
) -> Broadcast:
    return await Broadcast.create(
        admin_id=admin_id,
        text=text,
        photo_file_id=photo_file_id,
        entities=entities,
        active_days=active_days,
        status=BroadcastStatus.DRAFT,
        total=total,
        created_at=now,
    )


async def get(broadcast_id: int) -> Broadcast | None:
    return await Broadcast.get_or_none(id=broadcast_id)


async def recent(limit: int) -> list[Broadcast]:
    return await Broadcast.all().order_by("-id").limit(limit)


async def ids_with_status(statuses: Iterable[BroadcastStatus]) -> list[int]:
    ids: list[Any] = (
        await Broadcast.filter(status__in=[s.value for s in statuses])
        .order_by("id")
        .values_list("id", flat=True)
    )
    return [int(i) for i in ids]


async def status_of(broadcast_id: int) -> str | None:
    row: list[Any] = await Broadcast.filter(id=broadcast_id).values_list("status", flat=True)
    return str(row[0]) if row else None


async def move(
    broadcast_id: int, from_statuses: Iterable[BroadcastStatus], to: BroadcastStatus, **values: Any
) -> bool:
    """Change the status only from one of ``from_statuses`` (a compare-and-set); True when it changed."""
    changed: int = await Broadcast.filter(
        id=broadcast_id, status__in=[s.value for s in from_statuses]
    ).update(status=to, **values)
    return changed == 1


async def set_started(broadcast_id: int, *, now: datetime, total: int) -> bool:
    """Record the start once: a resumed broadcast keeps its first start and its audience."""
    changed: int = await Broadcast.filter(id=broadcast_id, started_at__isnull=True).update(
        started_at=now, total=total
    )
    return changed == 1


async def claim_recipient(broadcast_id: int, user_id: int, *, now: datetime) -> bool:
    """Insert the user's delivery row as ``sending``; False when the user already has one (another sender,
    or an earlier run, got there first) — the row is the promise that the message goes out at most once."""
    try:
        await BroadcastDelivery.create(
            broadcast_id=broadcast_id, user_id=user_id, status=DeliveryStatus.SENDING, at=now
        )
    except IntegrityError:
        return False
    return True


async def settle(
    broadcast_id: int, user_id: int, status: DeliveryStatus, *, now: datetime, error: str | None = None
) -> None:
    await BroadcastDelivery.filter(broadcast_id=broadcast_id, user_id=user_id).update(
        status=status, error=error[:MAX_ERROR] if error else None, at=now
    )


async def release_recipient(broadcast_id: int, user_id: int) -> None:
    """Forget a ``sending`` row whose message was certainly not sent, so that a later run sends it."""
    await BroadcastDelivery.filter(
        broadcast_id=broadcast_id, user_id=user_id, status=DeliveryStatus.SENDING
    ).delete()


async def fail_unsettled(broadcast_id: int, *, error: str, now: datetime) -> int:
    """Rows a stopped sender left ``sending``: whether Telegram got them is unknown, so they are failed."""
    changed: int = await BroadcastDelivery.filter(
        broadcast_id=broadcast_id, status=DeliveryStatus.SENDING
    ).update(status=DeliveryStatus.FAILED, error=error[:MAX_ERROR], at=now)
    return changed


async def delivery_counts(broadcast_id: int) -> dict[str, int]:
    """Delivery rows of the broadcast per status (every status present, zero when none)."""
    rows = (
        await BroadcastDelivery.filter(broadcast_id=broadcast_id)
        .annotate(n=Count("id"))
        .group_by("status")
        .values("status", "n")
    )
    counts = {status.value: 0 for status in DeliveryStatus}
    for row in rows:
        counts[str(row["status"])] = int(row["n"])
    return counts


async def store_counts(broadcast_id: int, counts: dict[str, int]) -> None:
    await Broadcast.filter(id=broadcast_id).update(
        delivered=counts[DeliveryStatus.DELIVERED],
        blocked=counts[DeliveryStatus.BLOCKED],
        failed=counts[DeliveryStatus.FAILED],
    )


async def deliveries(broadcast_id: int) -> list[BroadcastDelivery]:
    return await BroadcastDelivery.filter(broadcast_id=broadcast_id).order_by("user_id")


async def mark_user_blocked(user_id: int, *, now: datetime) -> None:
    await User.filter(id=user_id).update(blocked_at=now)


async def user_locale(user_id: int) -> str | None:
    row: list[Any] = await User.filter(id=user_id).values_list("locale", flat=True)
    return str(row[0]) if row else None


async def beat(broadcast_id: int, *, now: datetime) -> None:
    await Broadcast.filter(id=broadcast_id).update(heartbeat_at=now)


async def silent(*, since: datetime) -> list[Broadcast]:
    """Broadcasts queued or sending whose sender gave no sign of life since ``since`` (or never did)."""
    rows = await Broadcast.filter(status__in=[BroadcastStatus.QUEUED.value, BroadcastStatus.SENDING.value])
    return [row for row in rows if (row.heartbeat_at or row.created_at) < since]
