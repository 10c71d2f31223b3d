"""What `make run` starts — `python -m app dev` on embedded defaults: local Telegram, an embedded
redis-server, SQLite and the bot rendering in its own process — makes a paid video from a click-through."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import spawn, wait_for_line
from tests.integration.create.chat import Chat, shown
from tests.integration.create.steps import CONFIRM, GALLERY, LOOK, SCRIPT, TAKE, VOICES, button
from tests.support.localtg import ControlClient
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e
USER = 7501


async def test_make_run_alone_renders_a_paid_video(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "REDIS_", "DATABASE_", "STORAGE_", "RUN_WORKER", "FAL_"))
    }
    env |= {
        "DATA_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite://{tmp_path}/var/ugcbot.sqlite3",
        "WEB_PORT": str(free_port()),
        "LOG_FORMAT": "json",
    }
    argv = [sys.executable, "-m", "app", "dev", "--port", str(port)]
    dev = spawn("make run", argv, env, tmp_path / "dev.log")
    try:
        await asyncio.to_thread(wait_for_line, dev, "bot started", 90)
        async with ControlClient(f"http://127.0.0.1:{port}", wait_timeout=60) as tg:
            await tg.create_user(USER, "Mia", language_code="en")
            chat = Chat(tg, USER)
            await chat.say("/start", "UGC Bot")
            await chat.tap("🎬 Create video", "Choose the format")
            await chat.tap("🗣 Talking head", "Who will star")
            await chat.tap("👩 A woman", GALLERY)
            await chat.tap("✅ Pick Anna", LOOK)
            voices = await chat.tap("Keep this look →", VOICES)
            await chat.tap(button(voices, "✅ Pick"), SCRIPT)
            await chat.say("Hello from the embedded defaults!", TAKE)
            confirm = await chat.tap("✅ Sounds good →", CONFIRM)
            result = await chat.tap(button(confirm, "💳 Pay"), "is ready!", within=120)
        assert result["media"]["kind"] == "video" and "(local render)" in shown(result)
        assert (tmp_path / "var" / "redis").is_dir(), "the embedded redis-server kept its data under DATA_DIR"
    finally:
        code = dev.stop(timeout=30)
        print(f"--- make run ---\n{dev.output()[-6000:]}")
    assert code == 0, "Ctrl-C/SIGTERM stops every child cleanly"
