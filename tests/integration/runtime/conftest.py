from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from app.db.migrations import apply_migrations
from tests.integration.runtime.fake_bot_api import FakeBotApi, fake_bot_api


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The runtime configures process-wide logging; give the next test pytest's own setup back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with fake_bot_api() as server:
        yield server


@pytest.fixture
async def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite://{tmp_path}/ugcbot.sqlite3"
    await apply_migrations(url)
    return url
