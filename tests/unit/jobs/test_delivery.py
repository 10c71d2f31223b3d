"""Progress edits reach the progress window of their video only, at most once per interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram.fsm.state import State, StatesGroup

from app.domain.generations import GenerationInfo, GenerationStatus
from app.domain.steps import Phase
from app.jobs.delivery import DialogDelivery
from dialogs.hooks.create_order import GENERATION
from dialogs.i18n import TextCatalog
from tests.fakes.renders import MemoryThrottle


class Create(StatesGroup):
    progress = State()
    result = State()
    format = State()


@dataclass
class Context:
    state: State
    dialog_data: dict[str, Any]


@dataclass
class Manager:
    context: Context | None
    shown: list[Any] = field(default_factory=list)

    def has_context(self) -> bool:
        return self.context is not None

    def current_context(self) -> Context:
        assert self.context is not None
        return self.context

    async def show(self, show_mode: Any = None) -> None:
        self.shown.append(show_mode)


@dataclass
class Dialogs:
    """BgManagerFactory whose ``fg()`` hands out the one manager of the test."""

    manager: Manager

    def bg(self, bot: Any, user_id: int, chat_id: int) -> Dialogs:
        return self

    @asynccontextmanager
    async def fg(self) -> AsyncIterator[Manager]:
        yield self.manager


def info(generation_id: int = 7) -> GenerationInfo:
    return GenerationInfo(
        id=generation_id, user_id=1, format="talking_head", character_id="anna", voice_id="ru_alisa",
        script="Hi", status=GenerationStatus.RUNNING, step="video", cost=8, error_reason=None, video_key=None,
        audio_key=None, video_file_id=None, audio_file_id=None, created_at=datetime(2026, 11, 24, tzinfo=UTC),
        finished_at=None, refunded=False,
    )  # fmt: skip


def delivery(
    manager: Manager, clock: MemoryThrottle | RealTimeThrottle, interval: float = 5.0
) -> DialogDelivery:
    return DialogDelivery(
        bot=None,  # type: ignore[arg-type]  # progress never calls the Bot API itself
        dialogs=Dialogs(manager),  # type: ignore[arg-type]
        progress_state=Create.progress,
        result_state=Create.result,
        media_ids=None,  # type: ignore[arg-type]
        files=None,  # type: ignore[arg-type]
        texts=TextCatalog({"en": {}}, "en"),
        throttle=clock,  # type: ignore[arg-type]  # duck-typed stand-in
        min_edit_interval=interval,
    )


class RealTimeThrottle(MemoryThrottle):
    """MemoryThrottle on the real monotonic clock, for what happens after a wait."""

    async def allow(self, key: str, seconds: float) -> bool:
        self.now = time.monotonic()
        return await super().allow(key, seconds)

    async def remaining(self, key: str) -> float:
        self.now = time.monotonic()
        return await super().remaining(key)


async def test_a_change_that_comes_too_soon_is_shown_when_the_interval_is_over() -> None:
    manager = Manager(Context(Create.progress, {GENERATION: 7}))
    jobs = delivery(manager, RealTimeThrottle(), interval=0.3)

    await jobs.progress(info(), Phase.SPEECH)
    await jobs.progress(info(), Phase.VIDEO)  # too soon: scheduled, not dropped
    await jobs.progress(info(), Phase.VIDEO)  # one redraw is enough for both
    assert len(manager.shown) == 1
    await asyncio.sleep(0.5)

    assert len(manager.shown) == 2


async def test_progress_is_redrawn_at_most_once_per_interval() -> None:
    manager = Manager(Context(Create.progress, {GENERATION: 7}))
    clock = MemoryThrottle()
    jobs = delivery(manager, clock)

    await jobs.progress(info(), Phase.SPEECH)
    clock.now += 4.9
    await jobs.progress(info(), Phase.VIDEO)
    assert len(manager.shown) == 1
    clock.now += 0.2
    await jobs.progress(info(), Phase.FINISHING)
    assert len(manager.shown) == 2


async def test_the_edit_interval_is_per_chat_not_per_video() -> None:
    """Two videos of one user share the chat's budget of one edit per 5 s."""
    clock = MemoryThrottle()
    first = Manager(Context(Create.progress, {GENERATION: 7}))
    await delivery(first, clock).progress(info(7), Phase.VIDEO)
    second = Manager(Context(Create.progress, {GENERATION: 8}))
    await delivery(second, clock).progress(info(8), Phase.VIDEO)
    assert (len(first.shown), len(second.shown)) == (1, 0)


async def test_progress_leaves_other_windows_alone() -> None:
    elsewhere = Manager(Context(Create.format, {}))
    other_video = Manager(Context(Create.progress, {GENERATION: 8}))
    no_dialog = Manager(None)
    for manager in (elsewhere, other_video, no_dialog):
        await delivery(manager, MemoryThrottle()).progress(info(7), Phase.VIDEO)
        assert manager.shown == []
