"""Drafting broadcasts: who they reach, what the admin may send, status changes."""

from __future__ import annotations

import pytest

from app.db.models import User
from app.services.broadcasts import BroadcastStatus
from tests.integration.broadcast.conftest import ADMIN, PROGRESS_MESSAGE, World


async def test_the_audience_is_registered_unbanned_users_who_have_not_blocked_the_bot(world: World) -> None:
    await world.users(range(100, 110))
    await world.users(range(200, 203), registered=False)  # pressed nothing yet: never /start-ed
    await world.users(range(300, 302), banned=True)
    blocked = await world.users([400])
    await User.filter(id__in=blocked).update(blocked_at=world.clock.now())

    assert await world.broadcasts.audience_size(None) == 10
    info = await world.broadcasts.create(ADMIN, "News", None, None)
    assert info.total == 10
    assert info.status is BroadcastStatus.DRAFT


async def test_active_days_counts_only_users_seen_within_the_window(world: World) -> None:
    await world.users(range(100, 105), seen_days_ago=1)
    await world.users(range(200, 203), seen_days_ago=10)
    await world.users(range(300, 302), seen_days_ago=100)

    assert await world.broadcasts.audience_size(7) == 5
    assert await world.broadcasts.audience_size(30) == 8
    assert await world.broadcasts.audience_size(365) == 10
    assert await world.broadcasts.audience_size(None) == 10


@pytest.mark.parametrize(
    ("text", "photo", "message"),
    [
        ("", None, "The message is empty"),
        ("   ", None, "The message is empty"),
        ("x" * 4097, None, "at most 4096 characters; this one has 4097"),
        ("x" * 1025, "AgACphoto", "A photo caption can be at most 1024 characters; this one has 1025"),
    ],
)
async def test_content_telegram_would_refuse_is_refused_with_a_clear_message(
    world: World, text: str, photo: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await world.broadcasts.create(ADMIN, text, photo, None)
    assert await world.broadcasts.recent() == []


async def test_texts_at_the_limits_and_photos_without_caption_are_accepted(world: World) -> None:
    assert (await world.broadcasts.create(ADMIN, "x" * 4096, None, None)).text == "x" * 4096
    assert (await world.broadcasts.create(ADMIN, "x" * 1024, "AgACphoto", None)).photo_file_id == "AgACphoto"
    assert (await world.broadcasts.create(ADMIN, "", "AgACphoto", 30)).active_days == 30


@pytest.mark.parametrize("days", [0, -1, 366])
async def test_an_audience_window_outside_one_to_365_days_is_refused(world: World, days: int) -> None:
    with pytest.raises(ValueError, match="1 to 365 days"):
        await world.broadcasts.create(ADMIN, "News", None, days)
    with pytest.raises(ValueError, match="1 to 365 days"):
        await world.broadcasts.audience_size(days)


async def test_only_a_draft_starts_and_a_finished_broadcast_cannot_be_cancelled(world: World) -> None:
    info = await world.broadcasts.create(ADMIN, "News", None, None)
    assert await world.broadcasts.start(info.id, ADMIN, PROGRESS_MESSAGE)
    assert not await world.broadcasts.start(info.id, ADMIN, PROGRESS_MESSAGE)
    started = await world.broadcasts.get(info.id)
    assert started is not None
    assert started.status is BroadcastStatus.QUEUED
    assert (started.progress_chat_id, started.progress_message_id) == (ADMIN, PROGRESS_MESSAGE)
    assert await world.broadcasts.unfinished() == [info.id]

    assert await world.broadcasts.cancel(info.id)
    assert not await world.broadcasts.cancel(info.id)
    cancelled = await world.broadcasts.get(info.id)
    assert cancelled is not None
    assert cancelled.status is BroadcastStatus.CANCELLED
    assert cancelled.finished_at == world.clock.now()
    assert await world.broadcasts.unfinished() == []


async def test_recent_lists_the_newest_first(world: World) -> None:
    ids = [(await world.broadcasts.create(ADMIN, f"News {n}", None, None)).id for n in range(7)]
    recent = await world.broadcasts.recent()
    assert [b.id for b in recent] == ids[::-1][:5]
    assert await world.broadcasts.get(10_000) is None
