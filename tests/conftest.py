from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from app.db.migrations import apply_migrations
from app.db.setup import redact_url
from tests.support.postgres import DEFAULT_TEST_DATABASE_URL, NOT_RUNNING, with_database
from tests.support.s3 import s3_server
from tests.support.servers import redis_server

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real redis-server shared by the session; tests get it flushed through ``redis``."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def clean_redis_url(redis_url: str, redis: Redis) -> str:
    """The session's Redis, flushed for this test (for processes the test starts)."""
    return redis_url


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's headless chromium driven by Playwright (never a downloaded browser)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


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


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of a real S3 API server (moto) shared by the session."""
    with s3_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session: each test gets a copy instead of migrating anew."""
    path = tmp_path_factory.mktemp("migrated-db") / "migrated.sqlite3"
    with ThreadPoolExecutor(1) as thread:  # its own event loop, outside the tests' loops
        thread.submit(asyncio.run, apply_migrations(f"sqlite://{path}")).result()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite_file: Path) -> str:
    """A fresh, migrated SQLite database."""
    path = tmp_path / "ugcbot.sqlite3"
    shutil.copyfile(migrated_sqlite_file, path)
    return f"sqlite://{path}"
