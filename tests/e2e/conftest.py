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
from typing import Any

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
        # One process, one machine: the bot renders itself (the pipeline tests start separate workers).
        "RUN_WORKER": "true",
        "PROVIDER_POLL_SECONDS": "0.5",
        "WORKER_POLL_SECONDS": "0.2",
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


@dataclass
class Process:
    """A child process of a test (a worker, a fake provider) with its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when a machine dies."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop_quietly(self, timeout: float = 20) -> int | None:
        """Stop it; a process that ignored SIGTERM is killed and reported in its log, not raised."""
        try:
            return self.stop(timeout)
        except AssertionError:
            with self.log.open("a") as sink:
                sink.write(f"\n*** {self.name} ignored SIGTERM for {timeout} s and was killed\n")
            return None

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(
                    f"{self.name} ignored SIGTERM for {timeout} s:\n{self.output()}"
                ) from None
        return self.process.returncode


def spawn(name: str, argv: list[str], env: dict[str, str], log: Path) -> Process:
    with log.open("ab") as sink:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    return Process(name, proc, log)


def wait_for_line(proc: Process, fragment: str, timeout: float = START_TIMEOUT, *, after: int = 0) -> None:
    """Until the process wrote ``fragment`` into its log (past the first ``after`` characters)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fragment in proc.output()[after:]:
            return
        if proc.process.poll() is not None:
            raise AssertionError(f"{proc.name} exited with {proc.process.returncode}:\n{proc.output()}")
        time.sleep(0.05)
    raise AssertionError(f"{proc.name} did not say {fragment!r} within {timeout} s:\n{proc.output()}")


@dataclass
class SpawnedWorker:
    process: Process
    log_offset: int

    def ready(self) -> bool:
        """Whether it has started taking jobs (said so in its log since it was spawned)."""
        return "worker started" in self.process.output()[self.log_offset :]


def spawn_worker(env: dict[str, str], log: Path, name: str = "worker") -> SpawnedWorker:
    """`python -m app worker`, not waiting for it to be ready."""
    before = len(log.read_text(errors="replace")) if log.exists() else 0
    return SpawnedWorker(spawn(name, [sys.executable, "-m", "app", "worker"], env, log), before)


def start_worker(env: dict[str, str], log: Path, name: str = "worker") -> Process:
    """`python -m app worker`, ready once it said so (a restart appends to the same log)."""
    before = len(log.read_text(errors="replace")) if log.exists() else 0
    worker = spawn(name, [sys.executable, "-m", "app", "worker"], env, log)
    wait_for_line(worker, "worker started", 2 * START_TIMEOUT, after=before)
    return worker


@contextmanager
def fake_fal_process(
    workdir: Path, *, latency: str = "1-2", video: str = "static"
) -> Iterator[tuple[str, Process]]:
    """The fake fal.ai as its own process (it outlives killed workers); yields its URL and the process."""
    port = free_port()
    argv = [
        sys.executable, "-m", "tests.fakes.fal_server", "--port", str(port), "--latency", latency,
        "--video", video, "--state-file", str(workdir / "fal-state.json"),
    ]  # fmt: skip
    proc = spawn("fake fal.ai", argv, dict(os.environ), workdir / "fal.log")
    try:
        wait_for_line(proc, "listening on")
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.stop()


def fal_stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_fake/stats", timeout=10).json())
