"""Real databases for tests: a SQLite file per test, and a fresh PostgreSQL database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from app.db.migrations import apply_migrations
from app.db.setup import close_db, init_db


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path}/ugcbot.sqlite3"


@pytest.fixture
async def postgres_url(new_postgres_database: Callable[[], Awaitable[str]]) -> str:
    """URL of an empty PostgreSQL database created for this test."""
    return await new_postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each dialect the project runs on."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """``database_url`` migrated and opened with ``init_db`` for the test; yields the URL."""
    await apply_migrations(database_url)
    await init_db(database_url)
    yield database_url
    await close_db()


@pytest.fixture
async def sqlite_db(sqlite_url: str) -> AsyncIterator[str]:
    await apply_migrations(sqlite_url)
    await init_db(sqlite_url)
    yield sqlite_url
    await close_db()


@pytest.fixture
async def postgres_db(postgres_url: str) -> AsyncIterator[str]:
    await apply_migrations(postgres_url)
    await init_db(postgres_url)
    yield postgres_url
    await close_db()
