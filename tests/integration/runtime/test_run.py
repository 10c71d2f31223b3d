"""``python -m app run`` end to end: polling and webhook against the fake Bot API, stop, exit codes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from app.cli.run import run
from app.config import load_settings
from tests.conftest import ROOT
from tests.integration.runtime.fake_bot_api import FakeBotApi
from tests.integration.runtime.test_runtime import TOKEN, start_update
from tests.support.servers import free_port

Env = dict[str, str]


@asynccontextmanager
async def running(env: Env, stop: asyncio.Event) -> AsyncIterator[asyncio.Task[int]]:
    task = asyncio.create_task(run(load_settings(env), stop=stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def wait_http(url: str, task: asyncio.Task[int], limit: float = 30.0) -> aiohttp.ClientResponse:
    """GET ``url`` once something listens; fails early if the bot exited."""
    deadline = asyncio.get_running_loop().time() + limit
    async with aiohttp.ClientSession() as http:
        while True:
            if task.done():
                raise AssertionError(f"the bot exited with {task.result()} before serving {url}")
            try:
                async with http.get(url) as response:
                    await response.read()
                    return response
            except aiohttp.ClientConnectionError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.05)


def base_env(api: FakeBotApi, tmp_path: Path, database_url: str) -> Env:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api.url,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "var"),
        "FLOWS_PATH": str(ROOT / "flows.yaml"),
        "WEB_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
    }


async def test_polling_with_embedded_redis_answers_start_and_serves_health(
    api: FakeBotApi, tmp_path: Path, migrated_sqlite: str
) -> None:
    env = base_env(api, tmp_path, migrated_sqlite)
    stop = asyncio.Event()
    async with running(env, stop) as task:
        health = await wait_http(f"http://127.0.0.1:{env['WEB_PORT']}/health", task)
        assert health.status == 200
        api.push_update(**{k: v for k, v in start_update().items() if k != "update_id"})
        [sent] = await api.wait_for("sendMessage", limit=20)
        assert "Anna" in sent.params["text"]
        allowed = api.called("getUpdates")[-1].params["allowed_updates"]
        assert {"message", "callback_query"} <= set(allowed)
        assert "aiogd_update" not in allowed  # aiogram-dialog's in-process type means nothing to Telegram
    assert task.result() == 0
    # The embedded redis-server kept the user's dialog in its append-only file and was stopped.
    redis_dir = tmp_path / "var" / "redis"
    assert (redis_dir / "appendonlydir").is_dir()
    assert not (redis_dir / "redis.sock").exists()


async def test_webhook_mode_registers_the_secret_and_feeds_posted_updates(
    api: FakeBotApi, tmp_path: Path, redis_url: str, migrated_sqlite: str
) -> None:
    env = base_env(api, tmp_path, migrated_sqlite)
    port = env["WEB_PORT"]
    env |= {
        "REDIS_URL": redis_url,
        "WEBHOOK_URL": "https://bot.example.com/webhook",
        "WEBHOOK_SECRET": "hook_secret-1",
    }
    stop = asyncio.Event()
    async with running(env, stop) as task:
        await wait_http(f"http://127.0.0.1:{port}/", task)
        [registered] = await api.wait_for("setWebhook")
        assert registered.params["url"] == "https://bot.example.com/webhook"
        assert registered.params["secret_token"] == "hook_secret-1"
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/webhook"
            async with http.post(url, json=start_update(7, 777)) as refused:
                assert refused.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": "hook_secret-1"}
            async with http.post(url, json=start_update(8, 778), headers=headers) as accepted:
                assert accepted.status == 200
        [sent] = await api.wait_for("sendMessage", limit=20)
        assert sent.params["chat_id"] == "778"
    assert task.result() == 0
    assert api.called("getUpdates") == []


async def test_a_rejected_token_exits_1_and_cleans_up(
    api: FakeBotApi, tmp_path: Path, migrated_sqlite: str, capsys: pytest.CaptureFixture[str]
) -> None:
    api.fail("getMe", 401, "Unauthorized")
    env = base_env(api, tmp_path, migrated_sqlite)
    assert await run(load_settings(env), stop=asyncio.Event()) == 1
    assert not (tmp_path / "var" / "redis" / "redis.sock").exists()


def run_cli(env: Env, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.isupper() or k in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [sys.executable, "-m", "app", "run"],
        check=False,
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_settings_exit_2_with_the_variable_and_no_traceback(tmp_path: Path) -> None:
    result = run_cli({"TELEGRAM_BOT_TOKEN": TOKEN, "WEB_PORT": "abc"}, tmp_path)
    assert result.returncode == 2
    assert "WEB_PORT: must be an integer 1–65535, got 'abc'" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_token_exits_2_pointing_to_make_run(tmp_path: Path) -> None:
    result = run_cli({}, tmp_path)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr and "make run" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_broken_flows_file_exits_2_listing_every_problem(
    api: FakeBotApi, tmp_path: Path, migrated_sqlite: str, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = tmp_path / "flows.yaml"
    source = (ROOT / "flows.yaml").read_text(encoding="utf-8")
    flows.write_text(source.replace("next: main.menu", "next: main.nowhere"), encoding="utf-8")
    (tmp_path / "catalog").symlink_to(ROOT / "catalog")
    env = base_env(api, tmp_path, migrated_sqlite) | {"FLOWS_PATH": str(flows)}
    assert await run(load_settings(env), stop=asyncio.Event()) == 2
    stderr = capsys.readouterr().err
    problems = [line for line in stderr.splitlines() if line.startswith(f"{flows}:")]
    assert len(problems) >= 2, stderr
    assert all("main.nowhere" in line for line in problems)
    assert api.calls == [], "nothing talks to Telegram before the flow is known to be good"
