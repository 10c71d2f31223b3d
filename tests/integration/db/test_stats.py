"""The admin stats screen on SQLite and PostgreSQL: every number of a seeded history, time windows at their
edges, and query plans that answer the windowed numbers from indexes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from app.db import stats as queries
from app.db.models import User
from app.db.setup import connection
from app.domain.credits import LedgerReason, welcome_key
from app.domain.generations import Draft
from app.domain.pricing import Pricing
from app.services.costs import CostLedger
from app.services.generations import Generations
from app.services.ledger import Ledger
from app.services.providers import ProviderCost
from app.services.stats import AdminStats, CostLine, ProviderFailures, StatsSnapshot, StepFailures
from tests.fakes.services import FixedClock

pytestmark = pytest.mark.usefixtures("db")

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 24, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
# 7.5 s of speech: 2 started units × 5 + 3 = 13 credits as a talking head, 20 over a background.
PRICING = Pricing(
    look_edit=2,
    speech=3,
    video_per_5s=5,
    background_surcharge=7,
    welcome_bonus=50,
    max_video_seconds=30,
    max_look_edits=5,
    max_active_generations=20,
    chars_per_second={"ru": 13},
)
OMNIHUMAN = "fal-ai/bytedance/omnihuman/v1.5"
CREATOR = 105  # the user who made every video


def draft(background: bool = False) -> Draft:
    made = Draft.new(CREATOR, "ru").with_format("background" if background else "talking_head")
    if background:
        made = made.with_background("tmp/bg.mp4")
    return (
        made.with_character("anna")
        .with_voice("ru_alisa")
        .with_script("Попробуйте наш новый кофе.")
        .with_speech(speech_key="tmp/s.wav", speech_ogg_key=None, speech_seconds=7.5)
    )


@dataclass
class History:
    clock: FixedClock
    ledger: Ledger
    generations: Generations
    costs: CostLedger

    def at(self, moment: datetime) -> History:
        self.clock.moment = moment
        return self

    async def user(
        self,
        user_id: int,
        created: datetime,
        seen: datetime,
        *,
        banned: bool = False,
        blocked: datetime | None = None,
    ) -> None:
        await User.create(
            id=user_id,
            locale="ru",
            created_at=created,
            last_seen_at=seen,
            is_banned=banned,
            blocked_at=blocked,
        )

    async def video(
        self,
        confirmed: datetime,
        *,
        ends: str | None,
        after: float = 60.0,
        step: str | None = "video",
        provider_usd: float | None = None,
        background: bool = False,
        deleted: bool = False,
    ) -> int:
        """A video confirmed at ``confirmed`` that ends ``done`` or ``failed`` ``after`` seconds later (at
        ``step``), or stays rendering (``ends`` None); ``provider_usd``: its talking video was paid at fal."""
        self.at(confirmed)
        generation_id = (await self.generations.confirm(draft(background), key=f"c{confirmed}")).generation_id
        if step is not None:
            await self.generations.start(generation_id, "speech")
            await self.generations.set_step(generation_id, step)
        self.at(confirmed + timedelta(seconds=after))
        if provider_usd is not None:
            cost = ProviderCost("fal", OMNIHUMAN, 8, "seconds", provider_usd, f"fal-{generation_id}")
            await self.costs.record(cost, purpose="video", user_id=CREATOR, generation_id=generation_id)
        if ends == "done":
            await self.generations.complete(generation_id, video_key="v.mp4", audio_key="a.ogg")
        elif ends == "failed":
            await self.generations.fail(generation_id, "video_failed")
        if deleted:
            assert await self.generations.delete(CREATOR, generation_id)
        return generation_id


@pytest.fixture
async def history() -> History:
    """Eight users, ten videos, credits and provider calls over the last 100 days, as the bot writes them."""
    clock = FixedClock(NOW)
    ledger = Ledger(clock)
    h = History(clock, ledger, Generations(ledger, PRICING, clock), CostLedger(clock))

    await h.user(101, NOW - HOUR, NOW - HOUR)
    await h.user(102, MIDNIGHT, MIDNIGHT)  # the first moment of today is today
    await h.user(103, MIDNIGHT - timedelta(seconds=1), MIDNIGHT - timedelta(seconds=1))
    await h.user(104, NOW - 8 * DAY, NOW - 2 * HOUR)  # 8 days old: not new in 7 d, but active today
    await h.user(CREATOR, NOW - 60 * DAY, NOW - 6 * DAY)
    await h.user(106, NOW - 31 * DAY, NOW - 29 * DAY, banned=True)
    await h.user(107, NOW - 100 * DAY, NOW - 40 * DAY, blocked=NOW - 35 * DAY)
    await h.user(108, NOW - 7 * DAY + timedelta(seconds=1), NOW - DAY)

    # Credits in: 50 + 50 welcome, 30 granted, 200 + 100 bought; 10 revoked. Only 180 of it in 30 days.
    await h.at(NOW - 60 * DAY).ledger.credit(CREATOR, 50, LedgerReason.WELCOME_BONUS, welcome_key(CREATOR))
    await h.at(NOW - 50 * DAY).ledger.credit(CREATOR, 200, LedgerReason.PURCHASE, "pay:1")
    await h.at(NOW - HOUR).ledger.credit(101, 50, LedgerReason.WELCOME_BONUS, welcome_key(101))
    await h.at(NOW - HOUR).ledger.credit(101, 30, LedgerReason.ADMIN_GRANT, "grant:1")
    await h.at(NOW - 2 * DAY).ledger.credit(103, 100, LedgerReason.PURCHASE, "pay:2")
    await h.at(NOW - DAY).ledger.debit(103, 10, LedgerReason.ADMIN_REVOKE, "revoke:1")
    # Look edits of 2 credits: one 45 days ago, two 3 days ago of which one was refunded.
    await h.at(NOW - 45 * DAY).generations.charge_look_edit(CREATOR, "old", 1)
    await h.at(NOW - 3 * DAY).generations.charge_look_edit(CREATOR, "new", 1)
    await h.generations.charge_look_edit(CREATOR, "new", 2)
    await h.generations.refund_look_edit(CREATOR, "new", 2)

    # Videos (13 credits each, the background one 20). Delivered after 100, 300, 200, 400 and 1000 s.
    await h.video(NOW - 2 * HOUR, ends="done", after=100, provider_usd=2.0)
    await h.video(NOW - 3 * HOUR, ends="failed", step="video")
    await h.video(NOW - DAY - HOUR, ends="done", after=300, provider_usd=2.0, deleted=True)
    await h.video(NOW - 5 * DAY, ends="failed", step="store", provider_usd=3.0, background=True, deleted=True)
    await h.video(NOW - 6 * DAY, ends="failed", step="video")
    await h.video(NOW - 10 * DAY, ends="done", after=200)  # a local render: no paid call
    # The first of the 14 days shown starts at its midnight; a moment before it is not shown.
    await h.video(datetime(2026, 11, 11, tzinfo=UTC), ends="done", after=400, provider_usd=2.0)
    await h.video(datetime(2026, 11, 11, tzinfo=UTC) - timedelta(microseconds=1), ends="failed", step=None)
    await h.video(NOW - 40 * DAY, ends="done", after=1000, provider_usd=2.0)
    await h.video(NOW - HOUR, ends=None, step="video")  # still rendering: its 13 credits are held

    # Paid calls outside any video: takes at ElevenLabs, the green backdrop of the background video.
    speech = "eleven_multilingual_v2"
    await h.at(NOW - 45 * DAY).costs.record(
        ProviderCost("elevenlabs", speech, 150, "characters", 0.05, "e1"), purpose="take"
    )
    await h.at(NOW - 2 * HOUR).costs.record(
        ProviderCost("elevenlabs", speech, 120, "characters", 0.036, "e2"), purpose="take"
    )
    await h.at(NOW - 5 * DAY).costs.record(
        ProviderCost("fal", "nano-banana", 1, "images", 0.039, "n1"), purpose="backdrop"
    )
    h.at(NOW)
    return h


async def snapshot() -> StatsSnapshot:
    return await AdminStats(FixedClock(NOW)).snapshot()


async def test_users_new_and_active_count_today_from_midnight_utc_and_the_rest_rolling(
    history: History,
) -> None:
    users = (await snapshot()).users

    assert users.total == 8
    assert (users.new.today, users.new.last_7d, users.new.last_30d) == (2, 4, 5)
    assert (users.active.today, users.active.last_7d, users.active.last_30d) == (3, 6, 7)
    assert (users.blocked, users.banned) == (1, 1)

    later = await AdminStats(FixedClock(NOW + DAY)).snapshot()
    assert later.users.new.today == 0
    # 108, 7 days less a second old, drops out of the 7 days now; all five stay inside the 30.
    assert (later.users.new.last_7d, later.users.new.last_30d) == (3, 5)


async def test_videos_by_status_of_all_time_and_by_day_for_the_last_14_days(history: History) -> None:
    videos = (await snapshot()).videos

    assert videos.by_status == {"queued": 0, "running": 1, "done": 4, "failed": 3, "deleted": 2}
    assert videos.total == 10
    by_day = {d.day: (d.total, d.done, d.failed) for d in videos.by_day}
    assert [d.day for d in videos.by_day] == [date(2026, 11, 11) + timedelta(days=n) for n in range(14)]
    # A deleted video counts by how it ended: the one of yesterday was delivered, the one of the 19th failed.
    assert {day: row for day, row in by_day.items() if row != (0, 0, 0)} == {
        date(2026, 11, 11): (1, 1, 0),
        date(2026, 11, 14): (1, 1, 0),
        date(2026, 11, 18): (1, 0, 1),
        date(2026, 11, 19): (1, 0, 1),
        date(2026, 11, 23): (1, 1, 0),
        date(2026, 11, 24): (3, 1, 1),
    }


async def test_credits_issued_spent_returned_revoked_and_held_add_up_to_the_balances(
    history: History,
) -> None:
    credits = (await snapshot()).credits
    everything, month = credits.all_time, credits.last_30d

    assert (everything.issued, everything.revoked) == (430, 10)
    # Captured: the five delivered videos (65); look edits 6, less the 2 refunded.
    assert (everything.spent, everything.by_reason["capture"], everything.by_reason["look_edit"]) == (
        69,
        65,
        6,
    )
    # Released: the four failed videos (13 + 20 + 13 + 13), plus the refunded look edit.
    assert (everything.returned, everything.by_reason["release"], everything.by_reason["refund"]) == (
        61,
        59,
        2,
    )
    assert credits.held_now == 13
    balances = sum(user.balance for user in await User.all())
    assert credits.balances == balances == 338

    assert (month.issued, month.revoked) == (180, 10)
    # The video delivered 40 days ago and the look edit of 45 days ago are outside the 30 days.
    assert (month.spent, month.by_reason["capture"], month.by_reason["look_edit"]) == (54, 52, 4)
    assert month.returned == 61


async def test_failures_by_step_and_provider_and_the_median_time_to_video_of_30_days(
    history: History,
) -> None:
    shot = await snapshot()
    failures, timed = shot.failures, shot.time_to_video

    # Eight videos of the last 30 days have ended (the rendering one has not; the 40-day-old one is out).
    assert (failures.finished, failures.failed, failures.rate) == (8, 4, 0.5)
    assert failures.by_step == (
        StepFailures("video", 2, 0.25),
        StepFailures(None, 1, 0.125),  # failed before the worker started it
        StepFailures("store", 1, 0.125),
    )
    # Only videos whose talking video was paid for name their provider; the rest are None.
    assert failures.by_provider == (ProviderFailures(None, 4, 3), ProviderFailures("fal", 4, 1))
    assert [p.rate for p in failures.by_provider] == [0.75, 0.25]
    # Delivered after 100, 200, 300 and 400 s; the 1000 s one is 40 days old.
    assert timed.videos == 4
    assert timed.median_seconds == pytest.approx(250.0, abs=0.01)


async def test_provider_costs_per_model_in_usd_for_30_days_and_all_time(history: History) -> None:
    costs = (await snapshot()).costs

    assert costs.last_30d == (
        CostLine("fal", OMNIHUMAN, 4, 32.0, 9_000_000),
        CostLine("fal", "nano-banana", 1, 1.0, 39_000),
        CostLine("elevenlabs", "eleven_multilingual_v2", 1, 120.0, 36_000),
    )
    assert costs.all_time == (
        CostLine("fal", OMNIHUMAN, 5, 40.0, 11_000_000),
        CostLine("elevenlabs", "eleven_multilingual_v2", 2, 270.0, 86_000),
        CostLine("fal", "nano-banana", 1, 1.0, 39_000),
    )
    assert costs.all_time[0].usd == 11.0
    assert costs.usd_last_30d == pytest.approx(9.075)
    assert costs.usd_all_time == pytest.approx(11.125)


async def test_an_empty_database_shows_zeros_not_errors() -> None:
    shot = await snapshot()

    assert shot.users.total == 0 and shot.videos.total == 0
    assert [d.total for d in shot.videos.by_day] == [0] * 14
    assert shot.credits.all_time.spent == 0 and shot.credits.balances == 0
    assert shot.failures.by_step == () and shot.failures.rate == 0.0
    assert shot.costs.all_time == () and shot.costs.usd_all_time == 0.0
    assert shot.time_to_video.median_seconds is None


FULL_SCAN = {
    # EXPLAIN QUERY PLAN: "SCAN t" reads a whole table, "SCAN t USING … INDEX" a whole index.
    "sqlite": re.compile(r"^SCAN (users|generations|ledger_entries|provider_calls|g|c|h|pc)\b"),
    "postgres": re.compile(r"Seq Scan on (users|generations|ledger_entries|provider_calls)\b"),
}


async def plan(statement: queries.Statement) -> str:
    dialect = queries.dialect()
    sql, params = statement.render(dialect)
    if dialect == "sqlite":
        found = await connection().execute_query_dict(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row["detail"]) for row in found)
    async with in_transaction() as conn:
        # On tables this small a sequential scan is cheapest; forbidding it shows whether an index can serve.
        await conn.execute_script("SET LOCAL enable_seqscan = off")
        found = await conn.execute_query_dict(f"EXPLAIN {sql}", params)
    return "\n".join(str(row["QUERY PLAN"]) for row in found)


async def test_every_windowed_number_is_read_from_an_index_not_a_full_scan(history: History) -> None:
    dialect = queries.dialect()
    statements = queries.windowed_statements(queries.Windows.at(NOW), dialect)

    for name, statement in statements.items():
        text = await plan(statement)
        full = [line for line in text.splitlines() if FULL_SCAN[dialect].search(line.strip(" ->"))]
        assert not full, f"{name} scans a whole table on {dialect}:\n{text}"
    # Not the status index either: "done" is most of the table.
    for name in ("videos by day", "ended videos", "time to video"):
        text = await plan(statements[name])
        assert "idx_generations_created" in text, f"{name} on {dialect}:\n{text}"
