"""Generations on SQLite and PostgreSQL: confirm holds the price once, delivery captures it, failure
returns it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.db import ledger as ledger_queries
from app.db.models import Generation, LedgerEntry, User
from app.domain.credits import IdempotencyConflict, InsufficientCredits, LedgerReason
from app.domain.generations import (
    Draft,
    DraftIncomplete,
    GenerationNotFound,
    GenerationStateError,
    GenerationStatus,
    LookEditLimit,
    SpeechTooLong,
    TooManyActive,
)
from app.domain.pricing import Pricing
from app.services.generations import Generations
from app.services.ledger import Ledger
from app.services.users import UserService
from tests.fakes.services import FixedClock

pytestmark = pytest.mark.usefixtures("db")

# Small round numbers, so that every expected balance below can be checked by eye.
PRICING = Pricing(
    look_edit=2,
    speech=3,
    video_per_5s=5,
    background_surcharge=7,
    welcome_bonus=50,
    max_video_seconds=30,
    max_look_edits=2,
    max_active_generations=2,
    chars_per_second={"ru": 13, "en": 15},
)
# 7.5 s of speech: 2 started units → 3 + 2 × 5 = 13 as a talking head, 20 over a background.
TALKING_HEAD_COST = 13
BACKGROUND_COST = 20


def make_draft(user_id: int, *, seconds: float = 7.5, background: bool = False, locale: str = "ru") -> Draft:
    draft = Draft.new(user_id, locale).with_format("background" if background else "talking_head")
    if background:
        draft = draft.with_background(f"tmp/{user_id}/bg.mp4")
    return (
        draft.with_character("anna")
        .with_voice("ru_female_1")
        .with_script("Привет! Попробуйте наш новый кофе.")
        .with_speech(
            speech_key=f"tmp/{user_id}/{draft.draft_id}.wav",
            speech_ogg_key=f"tmp/{user_id}/{draft.draft_id}.ogg",
            speech_seconds=seconds,
        )
    )


async def funded_user(ledger: Ledger, user_id: int, credits: int, clock: FixedClock | None = None) -> int:
    now = (clock or FixedClock()).now()
    await User.create(id=user_id, locale="ru", created_at=now, last_seen_at=now)
    if credits:
        await ledger.credit(user_id, credits, LedgerReason.ADMIN_GRANT, f"fund:{user_id}")
    return user_id


async def reasons(user_id: int) -> list[tuple[str, int, str]]:
    """The user's ledger after funding, oldest first: (reason, delta, key)."""
    rows = await LedgerEntry.filter(user_id=user_id).exclude(reason="admin_grant").order_by("id")
    return [(r.reason, r.delta, r.idempotency_key) for r in rows]


async def assert_consistent(user_id: int) -> None:
    cached = await ledger_queries.cached_balance(user_id)
    assert cached == await ledger_queries.entries_sum(user_id)
    assert cached is not None and cached >= 0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def ledger(clock: FixedClock) -> Ledger:
    return Ledger(clock)


@pytest.fixture
def generations(ledger: Ledger, clock: FixedClock) -> Generations:
    return Generations(ledger, PRICING, clock)


async def test_confirm_queues_the_generation_and_holds_its_price(
    generations: Generations, ledger: Ledger, clock: FixedClock
) -> None:
    uid = await funded_user(ledger, 1, 100)
    draft = make_draft(uid, background=True)

    result = await generations.confirm(draft, key=f"confirm:{draft.draft_id}")

    assert (result.created, result.cost) == (True, BACKGROUND_COST)
    assert await ledger.balance(uid) == 100 - BACKGROUND_COST
    assert await reasons(uid) == [("hold", -BACKGROUND_COST, f"hold:{result.generation_id}")]
    info = await generations.get(result.generation_id)
    assert info is not None
    assert (info.status, info.cost, info.user_id, info.format) == ("queued", 20, uid, "background")
    assert (info.background_key, info.speech_key, info.speech_seconds) == (
        draft.background_key,
        draft.speech_key,
        7.5,
    )
    assert (info.script, info.character_id, info.voice_id, info.locale) == (
        "Привет! Попробуйте наш новый кофе.",
        "anna",
        "ru_female_1",
        "ru",
    )
    assert (info.created_at, info.finished_at, info.refunded) == (clock.now(), None, False)
    assert await generations.active_count(uid) == 1
    await assert_consistent(uid)


async def test_a_double_tap_returns_the_first_generation_and_holds_once(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 2, 100)
    draft = make_draft(uid)

    first = await generations.confirm(draft, key="confirm:tap")
    second = await generations.confirm(draft, key="confirm:tap")

    assert (second.generation_id, second.created, second.cost) == (first.generation_id, False, first.cost)
    assert await Generation.filter(user_id=uid).count() == 1
    assert await ledger.balance(uid) == 100 - TALKING_HEAD_COST


async def test_too_few_credits_refuses_with_balance_and_price_and_writes_nothing(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 3, BACKGROUND_COST - 1)

    with pytest.raises(InsufficientCredits) as info:
        await generations.confirm(make_draft(uid, background=True), key="confirm:poor")

    assert (info.value.balance, info.value.cost) == (19, 20)
    assert await Generation.filter(user_id=uid).count() == 0
    assert await reasons(uid) == []
    assert await ledger.balance(uid) == 19
    # Exactly enough is enough.
    assert (await generations.confirm(make_draft(uid), key="confirm:cheaper")).cost == TALKING_HEAD_COST


async def test_the_concurrency_limit_refuses_a_third_video_until_one_finishes(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 4, 100)
    first = await generations.confirm(make_draft(uid), key="c:1")
    await generations.confirm(make_draft(uid), key="c:2")

    with pytest.raises(TooManyActive) as info:
        await generations.confirm(make_draft(uid), key="c:3")

    assert info.value.limit == 2
    assert await Generation.filter(user_id=uid).count() == 2
    assert await ledger.balance(uid) == 100 - 2 * TALKING_HEAD_COST
    await generations.fail(first.generation_id, "errors.render")
    assert (await generations.confirm(make_draft(uid), key="c:3")).created


async def test_an_incomplete_draft_or_too_long_speech_is_refused_before_anything_is_written(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 5, 100)

    with pytest.raises(DraftIncomplete) as info:
        await generations.confirm(Draft.new(uid, "ru").with_format("background"), key="c:empty")
    assert info.value.missing[:2] == ("background_key", "character_id")
    with pytest.raises(SpeechTooLong):
        await generations.confirm(make_draft(uid, seconds=30.5), key="c:long")

    assert await Generation.filter(user_id=uid).count() == 0
    assert (await generations.confirm(make_draft(uid, seconds=30.0), key="c:max")).cost == 3 + 6 * 5


async def test_a_confirm_key_of_another_user_is_a_conflict(generations: Generations, ledger: Ledger) -> None:
    first, second = await funded_user(ledger, 6, 50), await funded_user(ledger, 7, 50)
    await generations.confirm(make_draft(first), key="confirm:shared")

    with pytest.raises(IdempotencyConflict):
        await generations.confirm(make_draft(second), key="confirm:shared")
    assert await ledger.balance(second) == 50


async def test_delivery_captures_the_hold_once_and_a_release_afterwards_is_refused(
    generations: Generations, ledger: Ledger, clock: FixedClock
) -> None:
    uid = await funded_user(ledger, 8, 100)
    gid = (await generations.confirm(make_draft(uid), key="c:deliver")).generation_id
    started = await generations.start(gid, "speech")
    await generations.set_step(gid, "video")
    clock.advance(seconds=40)

    done = await generations.complete(gid, video_key=f"users/{uid}/v.mp4", audio_key=f"users/{uid}/a.ogg")
    again = await generations.complete(gid, video_key="other.mp4", audio_key="other.ogg")

    assert (started.status, started.step, started.started_at) == (
        "running",
        "speech",
        clock.now() - timedelta(seconds=40),
    )
    assert (done.status, done.step, done.video_key, done.refunded) == (
        "done",
        "video",
        f"users/{uid}/v.mp4",
        False,
    )
    assert done.finished_at == clock.now() and again == done
    assert await reasons(uid) == [("hold", -13, f"hold:{gid}"), ("capture", 0, f"capture:{gid}")]
    with pytest.raises(GenerationStateError, match="cannot release"):
        await generations.fail(gid, "errors.late")
    assert await ledger.balance(uid) == 100 - TALKING_HEAD_COST
    assert await generations.active_count(uid) == 0
    await assert_consistent(uid)


async def test_unfinished_generations_are_listed_oldest_first_for_recovery_after_a_crash(
    generations: Generations, ledger: Ledger
) -> None:
    first, second = await funded_user(ledger, 20, 100), await funded_user(ledger, 21, 100)
    queued = (await generations.confirm(make_draft(first), key="c:crash1")).generation_id
    running = (await generations.confirm(make_draft(second), key="c:crash2")).generation_id
    await generations.start(running, "video")
    done = (await generations.confirm(make_draft(first), key="c:crash3")).generation_id
    await generations.complete(done, video_key="v.mp4", audio_key="a.ogg")

    assert await generations.unfinished() == [queued, running]


async def test_failure_returns_exactly_the_held_amount_once_and_a_capture_afterwards_is_refused(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 9, 100)
    gid = (await generations.confirm(make_draft(uid, background=True), key="c:fail")).generation_id
    await generations.start(gid, "video")

    failed = await generations.fail(gid, "errors.render_failed", detail="ffmpeg exited with 1" + "!" * 2000)
    again = await generations.fail(gid, "errors.other")

    assert (failed.status, failed.refunded, failed.error_reason) == ("failed", True, "errors.render_failed")
    assert failed.error_detail is not None and failed.error_detail.startswith("ffmpeg exited with 1")
    assert again == failed
    assert await reasons(uid) == [("hold", -20, f"hold:{gid}"), ("release", 20, f"release:{gid}")]
    with pytest.raises(GenerationStateError, match="cannot capture"):
        await generations.complete(gid, video_key="v.mp4", audio_key="a.ogg")
    assert await ledger.balance(uid) == 100
    await assert_consistent(uid)


async def test_a_finished_generation_takes_no_more_progress(generations: Generations, ledger: Ledger) -> None:
    uid = await funded_user(ledger, 10, 100)
    gid = (await generations.confirm(make_draft(uid), key="c:progress")).generation_id
    await generations.fail(gid, "errors.render")

    with pytest.raises(GenerationStateError, match="cannot start"):
        await generations.start(gid, "speech")
    with pytest.raises(GenerationStateError, match="cannot set a step"):
        await generations.set_step(gid, "video")
    with pytest.raises(GenerationNotFound):
        await generations.start(999_999, "speech")
    with pytest.raises(GenerationNotFound):
        await generations.complete(999_999, video_key="v", audio_key="a")
    assert await generations.get(999_999) is None


async def test_file_ids_are_kept_for_resending(generations: Generations, ledger: Ledger) -> None:
    uid = await funded_user(ledger, 11, 100)
    gid = (await generations.confirm(make_draft(uid), key="c:files")).generation_id
    await generations.complete(gid, video_key="v.mp4", audio_key="a.ogg")

    await generations.remember_file_ids(gid, video_file_id="BAACAgIAAxk-video")
    await generations.remember_file_ids(gid, audio_file_id="CQACAgIAAxk-audio")

    info = await generations.get(gid)
    assert info is not None and (info.video_file_id, info.audio_file_id) == (
        "BAACAgIAAxk-video",
        "CQACAgIAAxk-audio",
    )
    with pytest.raises(GenerationNotFound):
        await generations.remember_file_ids(999_999, video_file_id="x")


async def test_history_pages_newest_first_hides_deleted_and_clamps_the_page(
    generations: Generations, ledger: Ledger, clock: FixedClock
) -> None:
    uid = await funded_user(ledger, 12, 1000)
    other = await funded_user(ledger, 13, 100)
    await generations.confirm(make_draft(other), key="c:other")
    ids = []
    for n in range(7):
        gid = (await generations.confirm(make_draft(uid), key=f"c:h{n}")).generation_id
        await generations.complete(gid, video_key=f"v{n}.mp4", audio_key=f"a{n}.ogg")
        ids.append(gid)
        clock.advance(minutes=1)
    assert await generations.delete(uid, ids[3])

    first = await generations.history(uid, page=0, page_size=3)
    last = await generations.history(uid, page=2, page_size=3)
    beyond = await generations.history(uid, page=99, page_size=3)
    before = await generations.history(uid, page=-5, page_size=3)

    assert (first.total, first.pages, first.page) == (6, 2, 0)
    assert [g.id for g in first.items] == [ids[6], ids[5], ids[4]]
    assert (last.page, [g.id for g in last.items]) == (1, [ids[2], ids[1], ids[0]])
    assert beyond == last
    assert before == first
    empty = await generations.history(999, page=3, page_size=3)
    assert (empty.items, empty.page, empty.pages, empty.total) == ((), 0, 1, 0)


async def test_only_the_owner_deletes_and_only_a_finished_video(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 14, 100)
    stranger = await funded_user(ledger, 15, 100)
    done = (await generations.confirm(make_draft(uid), key="c:del1")).generation_id
    await generations.complete(done, video_key="v.mp4", audio_key="a.ogg")
    active = (await generations.confirm(make_draft(uid), key="c:del2")).generation_id

    assert not await generations.delete(stranger, done)
    assert not await generations.delete(uid, active)
    assert not await generations.delete(uid, 999_999)
    assert await generations.delete(uid, done)
    assert not await generations.delete(uid, done)

    assert [g.id for g in (await generations.history(uid, page=0, page_size=10)).items] == [active]
    info = await generations.get(done)
    assert info is not None and info.status == GenerationStatus.DELETED
    assert await ledger.balance(uid) == 100 - 2 * TALKING_HEAD_COST


async def test_videos_made_counts_delivered_ones_even_after_deletion(
    generations: Generations, ledger: Ledger, clock: FixedClock
) -> None:
    uid = await funded_user(ledger, 16, 200)
    delivered = []
    for n in range(3):
        gid = (await generations.confirm(make_draft(uid), key=f"c:made{n}")).generation_id
        delivered.append(gid)
        await generations.complete(gid, video_key="v.mp4", audio_key="a.ogg")
    failed = (await generations.confirm(make_draft(uid), key="c:made-failed")).generation_id
    await generations.fail(failed, "errors.render")
    await generations.confirm(make_draft(uid), key="c:made-queued")
    await generations.delete(uid, delivered[0])
    await generations.delete(uid, failed)

    assert await generations.videos_made(uid) == 3
    users = UserService(ledger, clock, ("ru", "en"), "ru")
    assert (await users.profile(uid)).videos == 3


async def test_a_look_edit_is_charged_once_per_attempt_and_refunded_once(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 17, 10)
    draft_id = "a" * 32

    assert await generations.charge_look_edit(uid, draft_id, 1) == 2
    assert await generations.charge_look_edit(uid, draft_id, 1) == 2  # a retried click
    assert await generations.refund_look_edit(uid, draft_id, 1) == 2
    assert await generations.refund_look_edit(uid, draft_id, 1) == 2  # replayed: nothing more returned
    assert await generations.refund_look_edit(uid, draft_id, 5) == 0  # never charged

    key = f"look_edit:{draft_id}:1"
    assert await reasons(uid) == [("look_edit", -2, key), ("refund", 2, f"refund:{key}")]
    assert await ledger.balance(uid) == 10
    with pytest.raises(IdempotencyConflict):
        await generations.charge_look_edit(uid, draft_id, 1)
    await assert_consistent(uid)


async def test_the_look_edit_limit_counts_only_edits_that_stayed_charged(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 18, 100)
    draft_id = "b" * 32
    await generations.charge_look_edit(uid, draft_id, 1)
    await generations.charge_look_edit(uid, draft_id, 2)
    await generations.refund_look_edit(uid, draft_id, 2)
    await generations.charge_look_edit(uid, draft_id, 3)

    with pytest.raises(LookEditLimit) as info:
        await generations.charge_look_edit(uid, draft_id, 4)

    assert info.value.limit == 2
    assert await generations.look_edits_used(uid, draft_id) == 2
    assert await generations.charge_look_edit(uid, "c" * 32, 1) == 2  # another draft has its own limit
    assert await ledger.balance(uid) == 100 - 3 * 2


async def test_a_look_edit_beyond_the_balance_is_refused_and_writes_nothing(
    generations: Generations, ledger: Ledger
) -> None:
    uid = await funded_user(ledger, 19, 1)

    with pytest.raises(InsufficientCredits) as info:
        await generations.charge_look_edit(uid, "d" * 32, 1)

    assert (info.value.balance, info.value.cost) == (1, 2)
    assert await reasons(uid) == []
