"""A restart loses nothing (U17): choices live in Redis; a render cut off by a stop is made next start."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app.services.providers import RenderedVideo
from app.services.video.local import LocalVideoMaker
from tests.integration.create.chat import shown
from tests.integration.create.conftest import BotStarter
from tests.integration.create.steps import CONFIRM, TAKE, button, to_script


async def test_every_choice_survives_a_restart(start_bot: BotStarter) -> None:
    bot = await start_bot()
    chat = await bot.chat()
    await to_script(chat)
    take = await chat.say("Fresh coffee and warm croissants.", TAKE)

    await start_bot()
    confirm = await chat.tap("✅ Sounds good →", CONFIRM, on=take)

    assert "Format: Talking head" in shown(confirm) and "Actor: Anna" in shown(confirm)
    assert "Total: 8 cr." in shown(confirm)


async def test_a_render_interrupted_by_a_stop_is_made_at_the_next_start(
    start_bot: BotStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stop cancels the render in progress; arq keeps the job and the next start resumes it.
    render = LocalVideoMaker.make
    stuck = asyncio.Event()

    async def hangs_once(self: LocalVideoMaker, image: Path, speech: Path, **kwargs: Any) -> RenderedVideo:
        if not stuck.is_set():
            stuck.set()
            await asyncio.Event().wait()  # until the stop cancels it
        return await render(self, image, speech, **kwargs)

    monkeypatch.setattr(LocalVideoMaker, "make", hangs_once)
    bot = await start_bot()
    chat = await bot.chat()
    await to_script(chat)
    await chat.say("Fresh coffee and warm croissants.", TAKE)
    confirm = await chat.tap("✅ Sounds good →", CONFIRM)
    await chat.tap(button(confirm, "💳 Pay"), "You can leave this screen")
    await stuck.wait()

    since = await chat.change()
    bot = await start_bot()
    result = await chat.arrives("is ready!", since=since)
    await bot.jobs_done()

    assert result["media"]["kind"] == "video"
    await chat.say("/menu", "Balance: 42 cr.")
