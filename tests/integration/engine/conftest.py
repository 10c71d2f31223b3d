from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from dialogs.i18n import TextCatalog
from tests.fakes.hooks import FakeHooks
from tests.integration.engine.harness import Bot, catalog, load_flows

MakeBot = Callable[..., Bot]


@pytest.fixture
async def make_bot(redis: Redis, redis_url: str, tmp_path: Path) -> AsyncIterator[MakeBot]:
    """Build a Bot from flows YAML on the session's flushed Redis; every one is closed after the test."""
    bots: list[Bot] = []

    def make(
        source: str,
        hooks: FakeHooks | None = None,
        *,
        texts: Mapping[str, Mapping[str, str]] | None = None,
        catalog_: TextCatalog | None = None,
        **kwargs: Any,
    ) -> Bot:
        kwargs.setdefault("base_dir", tmp_path)
        bot = Bot(load_flows(source), hooks or FakeHooks(), catalog_ or catalog(texts), redis_url, **kwargs)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.close()
