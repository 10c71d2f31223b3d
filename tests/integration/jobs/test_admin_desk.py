"""What admins do to users and videos, on a real database: grants and revokes through the ledger (once per
input), bans, a failed video made again at the user's cost, a running one stopped and refunded with the user
told — each written to the audit trail with the admin who did it."""

from __future__ import annotations

import pytest

from app.db.models import AdminAction, LedgerEntry, User
from app.domain.generations import GenerationStatus
from app.services.admin import AdminDesk, AdminInputError, parse_amount_and_reason
from app.services.providers import ProviderError
from app.services.stats import AdminStats
from app.services.users import UserService
from tests.fakes.renders import RecordingQueue
from tests.integration.jobs.conftest import TALKING_HEAD_COST, USER, World

ADMIN = 900


def desk(world: World, queue: RecordingQueue) -> AdminDesk:
    users = UserService(world.ledger, world.clock, ("ru", "en"), "ru")
    return AdminDesk(
        users=users,
        ledger=world.ledger,
        generations=world.generations,
        jobs=queue,
        clock=world.clock,
        abandon=world.pipeline().abandon,
    )


async def audit() -> list[tuple[int, str, int | None, int | None]]:
    rows = await AdminAction.all().order_by("id")
    return [(r.admin_id, r.action, r.target_user_id, r.target_generation_id) for r in rows]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "amount_format"), ("abc", "amount_format"), ("100", "amount_format"), ("0 oops", "amount_range"),
     ("100001 too much", "amount_range"), ("5 ok", "reason_length"), ("10 " + "x" * 201, "reason_length")],
)  # fmt: skip
def test_an_admin_input_that_is_not_an_amount_and_a_reason_is_named(text: str, problem: str) -> None:
    with pytest.raises(AdminInputError) as caught:
        parse_amount_and_reason(text)
    assert caught.value.key == problem


async def test_grants_and_revokes_move_credits_once_per_input_and_never_below_zero(world: World) -> None:
    await world.user(credits=50)
    admins = desk(world, RecordingQueue())

    await admins.grant(ADMIN, USER, 100, "bug report", key="chat:1")
    await admins.grant(ADMIN, USER, 100, "bug report", key="chat:1")  # the same message delivered twice
    assert await world.balance() == 150
    with pytest.raises(AdminInputError) as caught:
        await admins.revoke(ADMIN, USER, 500, "mistake", key="chat:2")
    assert caught.value.values == {"balance": 150, "amount": 500}
    await admins.revoke(ADMIN, USER, 30, "duplicate", key="chat:3")
    assert await world.balance() == 120
    rows = await LedgerEntry.filter(user_id=USER, ref=f"admin:{ADMIN}").order_by("id")
    assert [(r.reason, r.delta, r.note) for r in rows] == [
        ("admin_grant", 100, "bug report"),
        ("admin_revoke", -30, "duplicate"),
    ]
    assert await audit() == [(ADMIN, "grant", USER, None), (ADMIN, "revoke", USER, None)]


async def test_a_ban_is_recorded_once_and_found_by_username(world: World) -> None:
    await world.user()
    await User.filter(id=USER).update(username="Anna_B")
    admins = desk(world, RecordingQueue())

    found = await admins.find_user("@anna_b")
    assert found is not None and found.id == USER
    assert await admins.find_user(str(USER)) == found
    assert await admins.find_user("@nobody_here") is None
    with pytest.raises(AdminInputError):
        await admins.find_user("not a name!")
    assert await admins.set_banned(ADMIN, USER, True)
    assert not await admins.set_banned(ADMIN, USER, True), "already banned: nothing to record"
    assert (await User.get(id=USER)).is_banned
    assert await audit() == [(ADMIN, "ban", USER, None)]


async def test_a_failed_video_is_made_again_at_the_users_cost_and_once(world: World) -> None:
    await world.user(credits=50)
    gid = await world.order(captions=False)
    world.video.submit_script = [ProviderError("provider_rejected", "HTTP 400")]
    await world.pipeline().run(gid)
    assert (await world.info(gid)).status == GenerationStatus.FAILED
    queue = RecordingQueue()
    admins = desk(world, queue)

    again = await admins.retry(ADMIN, gid)
    assert await admins.retry(ADMIN, gid) == again, "a second click retries nothing more"
    assert queue.enqueued == [again]
    assert (await world.info(again)).status == GenerationStatus.QUEUED
    assert await world.balance() == 50 - TALKING_HEAD_COST, "the first was refunded, the retry is held"
    with pytest.raises(AdminInputError) as caught:
        await admins.retry(ADMIN, again)
    assert caught.value.key == "retry_not_failed"

    await world.pipeline().run(again)
    assert (await world.info(again)).status == GenerationStatus.DONE
    assert (ADMIN, "retry", USER, gid) in await audit()


async def test_a_video_in_progress_is_stopped_refunded_and_its_user_told(world: World) -> None:
    await world.user(credits=50)
    gid = await world.order(captions=False)
    admins = desk(world, RecordingQueue())

    info = await admins.refund(ADMIN, gid)

    assert (
        info.status == GenerationStatus.FAILED and info.refunded and info.error_reason == "cancelled_by_admin"
    )
    assert await world.balance() == 50
    [notice] = world.bot.to(USER)
    assert "the team stopped this video" in notice and f"{TALKING_HEAD_COST} cr." in notice
    with pytest.raises(AdminInputError) as caught:
        await admins.refund(ADMIN, gid)
    assert caught.value.key == "refund_not_active"
    assert await audit() == [(ADMIN, "refund", USER, gid)]


async def test_the_stats_name_the_provider_a_failed_video_was_asked_of(world: World) -> None:
    await world.user(credits=50)
    failed = await world.order(captions=False)
    world.video.submit_script = [ProviderError("provider_rejected", "HTTP 400")]
    await world.pipeline().run(failed)
    done = await world.order(captions=False)
    await world.pipeline().run(done)

    snapshot = await AdminStats(world.clock).snapshot()

    rows = [(r.provider, r.finished, r.failed) for r in snapshot.failures.by_provider]
    assert rows == [("scripted", 2, 1)], "the provider is known from the submit, even when nothing was paid"
    assert [(r.step, r.failed) for r in snapshot.failures.by_step] == [("video", 1)]
