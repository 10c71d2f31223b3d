"""Activity stats on a real database (SQLite and PostgreSQL): updates counted in memory, written in batches,
nothing lost or counted twice when a write fails, ``last_seen_at`` never moved back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from app.db.activity import Seen, add_activity
from app.db.migrations import apply_migrations
from app.db.models import User
from app.db.setup import close_db, init_db
from app.telegram.activity import ActivityRecorder
from tests.fakes.services import FixedClock

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
pytestmark = BOTH_DATABASES


@pytest.fixture
async def database_url(
    request: pytest.FixtureRequest, sqlite_url: str, new_postgres_database: Callable[[], Awaitable[str]]
) -> str:
    if request.param == "postgres":
        url = await new_postgres_database()
        await apply_migrations(url)
        return url
    return sqlite_url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    await init_db(database_url)
    yield database_url
    await close_db()


class Statements(logging.Handler):
    """Counts the UPDATE statements Tortoise sends to the database."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.updates = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().lstrip().upper().startswith("UPDATE"):
            self.updates += 1


@pytest.fixture
def statements() -> Iterator[Statements]:
    counter = Statements()
    logger = logging.getLogger("tortoise.db_client")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    yield counter
    logger.removeHandler(counter)
    logger.setLevel(level)


async def add_users(*ids: int, last_seen: datetime = START - timedelta(days=1)) -> None:
    await User.bulk_create(
        [User(id=uid, locale="en", created_at=last_seen, last_seen_at=last_seen) for uid in ids]
    )


async def activity(*ids: int) -> dict[int, tuple[int, datetime]]:
    rows = await User.filter(id__in=ids).order_by("id")
    return {row.id: (row.updates_count, row.last_seen_at) for row in rows}


async def test_a_thousand_updates_of_ten_users_are_one_statement(db: str, statements: Statements) -> None:
    users = list(range(1001, 1011))
    await add_users(*users)
    clock = FixedClock(START)
    recorder = ActivityRecorder(clock)
    for n in range(1000):
        clock.advance(seconds=1)
        recorder.seen(users[n % 10])

    assert await recorder.flush() == 10

    assert statements.updates == 1
    stored = await activity(*users)
    # User i was last seen at update 990 + i (1-based seconds after START).
    assert stored == {uid: (100, START + timedelta(seconds=991 + i)) for i, uid in enumerate(users)}
    assert recorder.pending == {}
    assert await recorder.flush() == 0
    assert statements.updates == 1


async def test_many_users_are_written_in_a_few_statements(db: str, statements: Statements) -> None:
    users = list(range(1, 1201))
    await add_users(*users)
    recorder = ActivityRecorder(FixedClock(START))
    for uid in users:
        recorder.seen(uid)
        recorder.seen(uid)

    await recorder.flush()

    assert statements.updates == 3  # chunks of 500 users
    assert await User.filter(id__in=users, updates_count=2, last_seen_at=START).count() == 1200


async def test_last_seen_never_goes_back(db: str) -> None:
    await add_users(7, last_seen=START + timedelta(hours=1))  # written since by someone else
    await add_users(8, last_seen=START - timedelta(hours=1))
    clock = FixedClock(START)
    recorder = ActivityRecorder(clock)
    recorder.seen(7)
    recorder.seen(8)
    clock.advance(seconds=-30)  # a clock stepped back: the later sighting still wins
    recorder.seen(8)

    await recorder.flush()

    assert await activity(7, 8) == {7: (1, START + timedelta(hours=1)), 8: (2, START)}


async def test_a_failed_flush_loses_nothing_and_counts_nothing_twice(db: str) -> None:
    await add_users(1, 2)
    clock = FixedClock(START)
    attempts: list[int] = []

    async def dies_before_commit(batch: Mapping[int, Seen]) -> int:
        """The rows are updated, then the connection fails before the commit: the transaction is undone."""
        attempts.append(len(batch))
        async with in_transaction():
            await add_activity(batch)
            raise ConnectionError("connection lost before COMMIT")

    failing = ActivityRecorder(clock, store=dies_before_commit)
    for _ in range(5):
        failing.seen(1)
    failing.seen(2)
    with pytest.raises(ConnectionError):
        await failing.flush()
    assert attempts == [2]
    assert await activity(1, 2) == {1: (0, START - timedelta(days=1)), 2: (0, START - timedelta(days=1))}

    # Updates keep coming while the database is away; the next flush writes both lots once.
    clock.advance(minutes=1)
    failing.seen(1)
    assert dict(failing.pending) == {1: Seen(6, START + timedelta(minutes=1)), 2: Seen(1, START)}
    working = ActivityRecorder(clock)
    for uid, seen in failing.pending.items():
        for _ in range(seen.count):
            working.seen(uid)
    await working.flush()
    assert await activity(1, 2) == {
        1: (6, START + timedelta(minutes=1)),
        2: (1, START + timedelta(minutes=1)),
    }


async def test_counts_survive_the_database_going_away(db: str) -> None:
    await add_users(1)
    clock = FixedClock(START)
    recorder = ActivityRecorder(clock)
    recorder.seen(1)
    recorder.seen(1)
    await close_db()
    with pytest.raises(Exception):  # noqa: B017 - whatever Tortoise raises without a database
        await recorder.flush()
    assert recorder.pending[1].count == 2

    await init_db(db)
    clock.advance(seconds=5)
    recorder.seen(1)
    await recorder.flush()
    assert await activity(1) == {1: (3, START + timedelta(seconds=5))}
    assert recorder.pending == {}


async def test_updates_from_users_without_a_row_are_dropped(db: str) -> None:
    await add_users(1)
    recorder = ActivityRecorder(FixedClock(START))
    recorder.seen(1)
    recorder.seen(404)
    await recorder.flush()
    assert await activity(1) == {1: (1, START)}
    assert recorder.pending == {}


async def test_the_loop_flushes_on_its_own_and_once_more_when_stopped(db: str) -> None:
    await add_users(1, 2)
    flushed = asyncio.Event()

    async def store(batch: Mapping[int, Seen]) -> int:
        written = await add_activity(batch)
        flushed.set()
        return written

    recorder = ActivityRecorder(FixedClock(START), flush_every=0.01, store=store)
    task = asyncio.create_task(recorder.run())
    recorder.seen(1)
    await asyncio.wait_for(flushed.wait(), timeout=5)
    assert await activity(1) == {1: (1, START)}

    # A long interval: only the stop writes what came since.
    stopping = ActivityRecorder(FixedClock(START), flush_every=3600)
    stopper = asyncio.create_task(stopping.run())
    stopping.seen(2)
    stopping.seen(2)
    await asyncio.sleep(0)
    for running in (task, stopper):
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert await activity(2) == {2: (2, START)}
