"""Black-box fixtures: the real `python -m app run` process against the local Telegram stand-in process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.support.localtg import ControlClient, ServerProcess, local_telegram_process
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


@dataclass
class BotProcess:
    process: subprocess.Popen[bytes]
    web_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"the bot ignored SIGTERM for 15 s:\n{self.output()}") from None
        return self.process.returncode


BotStarter = Callable[..., BotProcess]


@pytest.fixture
def telegram(tmp_path: Path) -> Iterator[ServerProcess]:
    with local_telegram_process(log_dir=tmp_path) as proc:
        yield proc


@pytest.fixture
async def tg(telegram: ServerProcess) -> AsyncIterator[ControlClient]:
    async with ControlClient(telegram.url, wait_timeout=15) as client:
        yield client


@pytest.fixture
def bot_env(tmp_path: Path, telegram: ServerProcess, redis_url: str, redis: Redis) -> dict[str, str]:
    """Environment of one bot: its own SQLite file and a flushed Redis (the `redis` fixture flushes it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "REDIS_"))}
    db = tmp_path / "bot.sqlite3"
    env |= {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "DATABASE_URL": f"sqlite://{db}",
        "REDIS_URL": redis_url,
        "DATA_DIR": str(tmp_path / "var"),
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(free_port()),
        "WELCOME_BONUS": "50",
        "LOG_FORMAT": "json",
    }
    migrate = subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    return env


@contextmanager
def _bot(env: dict[str, str], log: Path) -> Iterator[BotProcess]:
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "run"], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    bot = BotProcess(proc, f"http://127.0.0.1:{env['WEB_PORT']}", log)
    try:
        _wait_healthy(bot)
        yield bot
    finally:
        bot.stop()


def _wait_healthy(bot: BotProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            raise AssertionError(f"the bot exited with {bot.process.returncode}:\n{bot.output()}")
        try:
            if httpx.get(f"{bot.web_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the bot was not healthy after {START_TIMEOUT}s:\n{bot.output()}")


@pytest.fixture
def start_bot(bot_env: dict[str, str], tmp_path: Path) -> Iterator[BotStarter]:
    """Starts `python -m app run` (extra env overrides allowed); every started bot is stopped at the end."""
    with ExitStack() as stack:

        def start(**overrides: str) -> BotProcess:
            return stack.enter_context(_bot(bot_env | overrides, tmp_path / "bot.log"))

        yield start
    log = tmp_path / "bot.log"
    if log.exists():  # shown by pytest only when the test failed
        print(f"--- bot log ---\n{log.read_text(errors='replace')[-20000:]}")
