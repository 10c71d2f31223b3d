from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import structlog

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
def migrated_sqlite(sqlite_url: str) -> str:
    """A migrated SQLite database of the test's own (a copy of the session's)."""
    return sqlite_url
