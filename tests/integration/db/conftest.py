"""Real databases for tests: a SQLite file per test, and a fresh PostgreSQL database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from app.db.migrations import apply_migrations
from app.db.setup import close_db, init_db, redact_url

DEFAULT_TEST_DATABASE_URL = "postgres://ugcbot:ugcbot@127.0.0.1:5432/ugcbot_test"
NOT_RUNNING = "PostgreSQL is not running: run scripts/ensure-postgres.sh or make test"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path}/ugcbot.sqlite3"


@pytest.fixture
async def new_postgres_database() -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Creates empty databases on ``TEST_DATABASE_URL``'s server on demand; all are dropped after the test."""
    admin_url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL
    try:
        admin = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        # Failing, not skipping: a suite that silently skips the PostgreSQL half proves nothing about it.
        pytest.fail(f"{NOT_RUNNING} ({redact_url(admin_url)}: {exc})", pytrace=False)
    names: list[str] = []

    async def create() -> str:
        name = f"ugcbot_t_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        return with_database(admin_url, name)

    try:
        yield create
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


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
