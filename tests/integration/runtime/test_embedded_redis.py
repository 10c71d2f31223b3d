"""The embedded redis-server: dialog state survives a restart; clear errors when it cannot start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis

from app.fsm.embedded import EmbeddedRedis, EmbeddedRedisError
from app.fsm.storage import build_storage

KEY = StorageKey(bot_id=1, chat_id=501, user_id=501, destiny="aiogd:stack")


async def test_state_written_before_a_stop_is_there_after_a_restart(tmp_path: Path) -> None:
    workdir = tmp_path / "redis"
    async with EmbeddedRedis(workdir) as server:
        assert server.url.startswith("unix://")
        redis = Redis.from_url(server.url)
        storage = build_storage(redis)
        await storage.set_state(KEY, "main:menu")
        await storage.set_data(KEY, {"balance": 50})
        await redis.aclose()

    async with EmbeddedRedis(workdir) as server:
        redis = Redis.from_url(server.url)
        storage = build_storage(redis)
        assert await storage.get_state(KEY) == "main:menu"
        assert await storage.get_data(KEY) == {"balance": 50}
        await redis.aclose()
    assert not (workdir / "redis.sock").exists()


async def test_a_second_server_on_the_same_data_is_refused(tmp_path: Path) -> None:
    async with EmbeddedRedis(tmp_path / "redis"):
        with pytest.raises(EmbeddedRedisError, match="already serves"):
            await EmbeddedRedis(tmp_path / "redis").start()


async def test_missing_binary_names_the_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EmbeddedRedisError, match="apt-get install redis-server"):
        await EmbeddedRedis(tmp_path / "redis").start()


async def test_deep_data_dirs_fall_back_to_a_loopback_port(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    async with EmbeddedRedis(deep) as server:
        assert server.url.startswith("redis://127.0.0.1:")
        redis = Redis.from_url(server.url)
        assert await redis.ping()
        await redis.aclose()


CHILD = """
import asyncio, sys
from pathlib import Path
from app.fsm.embedded import EmbeddedRedis

async def main():
    server = EmbeddedRedis(Path(sys.argv[1]))
    await server.start()
    print("PID", server._proc.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_redis_server_dies_with_a_killed_bot(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    bot = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "redis")],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert bot.stdout is not None
        line = ""
        while not line.startswith("PID "):
            line = bot.stdout.readline()
            assert line, "the child exited before starting redis-server"
        redis_pid = int(line.split()[1])
    finally:
        bot.kill()
        bot.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(redis_pid):
        time.sleep(0.05)
    if _alive(redis_pid):
        os.kill(redis_pid, signal.SIGTERM)
        raise AssertionError("redis-server outlived the killed bot: an orphan would block the next start")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose: it is only waiting for init to reap it.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False
