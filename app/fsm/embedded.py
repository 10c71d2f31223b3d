"""A redis-server child process for runs without REDIS_URL, persisting to an append-only file."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.logs import get_logger

log = get_logger(__name__)

# sun_path holds 108 bytes with the terminating NUL on Linux; deeper data dirs fall back to a loopback port.
MAX_SOCKET_PATH = 100
PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server cannot be started; the message says what to do."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook that asks Linux to SIGTERM the child when the bot dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


class EmbeddedRedis:
    """Owns one redis-server process whose data lives in ``workdir``; use ``async with`` or start()/stop()."""

    def __init__(self, workdir: Path, *, startup_timeout: float = 10.0, stop_timeout: float = 10.0) -> None:
        self.workdir = workdir.resolve()
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._proc: asyncio.subprocess.Process | None = None
        self._url: str | None = None

    @property
    def socket_path(self) -> Path:
        return self.workdir / "redis.sock"

    @property
    def log_path(self) -> Path:
        return self.workdir / "redis.log"

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("embedded redis-server is not running")
        return self._url

    def command(self, binary: str) -> tuple[list[str], str]:
        """The redis-server argv and the URL it will answer on."""
        args = [
            binary,
            "--dir", str(self.workdir),
            # Users' dialog state must survive a restart: every write goes to the append-only file,
            # fsynced once a second, and redis-server fsyncs it on a clean shutdown.
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
        ]  # fmt: skip
        if len(str(self.socket_path).encode()) <= MAX_SOCKET_PATH:
            # A socket readable only by this user: an unauthenticated Redis must not listen on a shared port.
            args += ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
            return args, f"unix://{self.socket_path}"
        port = _free_port()
        args += ["--port", str(port), "--bind", "127.0.0.1"]
        return args, f"redis://127.0.0.1:{port}/0"

    async def start(self) -> str:
        """Start redis-server, wait until it answers and return its URL."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise EmbeddedRedisError(
                "redis-server was not found on PATH. Install it (Debian/Ubuntu: apt-get install "
                "redis-server) or set REDIS_URL to a running Redis."
            )
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.socket_path.exists() and await _answers(f"unix://{self.socket_path}"):
            raise EmbeddedRedisError(
                f"a redis-server already serves {self.socket_path} (left over from an earlier run?): "
                "stop it first, or set REDIS_URL to use it."
            )
        args, url = self.command(binary)
        with self.log_path.open("ab") as out:
            self._proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                preexec_fn=_die_with_parent(),  # only a prctl call, resolved before the fork
            )
        try:
            await self._wait_ready(url)
        except BaseException:
            await self.stop()
            raise
        self._url = url
        log.info("redis: embedded redis-server", url=url, data_dir=str(self.workdir), pid=self._proc.pid)
        return url

    async def _wait_ready(self, url: str) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.returncode is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with code {self._proc.returncode} at start; "
                    f"last lines of {self.log_path}:\n{self._log_tail()}"
                )
            if await _answers(url):
                return
            await asyncio.sleep(0.05)
        raise EmbeddedRedisError(
            f"redis-server did not answer within {self.startup_timeout:.0f}s; see {self.log_path}"
        )

    def _log_tail(self, lines: int = 10) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> None:
        """Shut redis-server down cleanly (it flushes the append-only file); kill it if it hangs."""
        proc, self._proc, self._url = self._proc, None, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), self.stop_timeout)
        except TimeoutError:
            log.warning("redis: embedded redis-server did not stop in time; killing it", pid=proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        log.info("redis: embedded redis-server stopped")

    async def __aenter__(self) -> EmbeddedRedis:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def _answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()
