"""The local Telegram stand-in for tests: in-process or as a subprocess, plus a client of its control API.

In-process (fast, one event loop)::

    async with local_telegram_server() as server, ControlClient(server.url) as tg:
        await tg.create_user(42)

As a real process (end-to-end tests)::

    with local_telegram_process() as proc:
        ...  # point the bot at ``proc.url`` with ``proc.token``
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from app.localtg import SERVER_KEY, LocalTelegram, Settings, create_app
from app.localtg.settings import DEFAULT_TOKEN
from tests.support.servers import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
__all__ = [
    "DEFAULT_TOKEN",
    "ControlClient",
    "RunningServer",
    "local_telegram_process",
    "local_telegram_server",
]


@dataclass(frozen=True, slots=True)
class RunningServer:
    url: str
    token: str
    server: LocalTelegram


@asynccontextmanager
async def local_telegram_server(settings: Settings | None = None) -> AsyncIterator[RunningServer]:
    """The stand-in on a free loopback port inside the current event loop."""
    settings = settings or Settings()
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", settings.token, app[SERVER_KEY])
    finally:
        await runner.cleanup()


@dataclass(frozen=True, slots=True)
class ServerProcess:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def local_telegram_process(
    port: int | None = None,
    *,
    token: str = DEFAULT_TOKEN,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
) -> Iterator[ServerProcess]:
    """``python -m app local-telegram --port N`` as a child process, stopped with SIGTERM on exit.

    Output goes to a log file (a pipe nobody reads could fill and stall the server): in ``log_dir`` when
    given, else in a temporary folder deleted on exit.
    """
    port = port or free_port()
    child_env = {**os.environ, **(env or {}), "LOCAL_TELEGRAM_TOKEN": token}
    folder = log_dir or Path(tempfile.mkdtemp(prefix="localtg-log-"))
    log = folder / f"local-telegram-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "local-telegram", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=child_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    running = ServerProcess(f"http://127.0.0.1:{port}", token, proc, log)
    try:
        try:
            wait_port(port, timeout=20)
        except TimeoutError:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"local-telegram did not start on port {port}:\n{running.output()}") from None
        yield running
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log_dir is None:
            shutil.rmtree(folder, ignore_errors=True)


class ControlError(AssertionError):
    """The control API refused a request; the message says why."""


class ControlClient:
    """Acts as Telegram users through ``/control/*`` and waits for the bot without sleeping."""

    def __init__(self, url: str, *, wait_timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.wait_timeout = wait_timeout
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ControlClient:
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._http is not None:
            await self._http.close()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self._http is not None, "use `async with ControlClient(url) as tg:`"
        async with self._http.request(method, self.url + path, **kwargs) as resp:
            data = await resp.json(content_type=None)
            if resp.status >= 400:
                raise ControlError(f"{method} {path} → {resp.status}: {data}")
            return data

    # -- users ---
    async def create_user(
        self,
        user_id: int,
        first_name: str = "Tester",
        *,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"id": user_id, "first_name": first_name, "language_code": language_code}
        if username:
            body["username"] = username
        return dict(await self.request("POST", "/control/users", json=body))

    async def send(
        self,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text}
        if reply_to is not None:
            body["reply_to"] = reply_to
        if entities:
            body["entities"] = entities
        return dict(await self.request("POST", f"/control/users/{user_id}/send", json=body))

    async def upload(
        self, user_id: int, data: bytes, *, kind: str, file_name: str, caption: str | None = None
    ) -> dict[str, Any]:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=file_name)
        form.add_field("kind", kind)
        if caption:
            form.add_field("caption", caption)
        return dict(await self.request("POST", f"/control/users/{user_id}/upload", data=form))

    async def click(
        self, user_id: int, message_id: int, *, button: str | None = None, callback_data: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"message_id": message_id}
        body |= {"button": button} if button is not None else {"callback_data": callback_data}
        return dict(await self.request("POST", f"/control/users/{user_id}/click", json=body))

    async def pay(self, user_id: int, message_id: int) -> dict[str, Any]:
        return dict(
            await self.request("POST", f"/control/users/{user_id}/pay", json={"message_id": message_id})
        )

    async def block(self, user_id: int, blocked: bool = True) -> dict[str, Any]:
        return dict(await self.request("POST", f"/control/users/{user_id}/block", json={"blocked": blocked}))

    # -- reading ---
    async def messages(self, user_id: int) -> list[dict[str, Any]]:
        return list(await self.request("GET", f"/control/users/{user_id}/messages"))

    async def visible(self, user_id: int) -> list[dict[str, Any]]:
        """The chat as the person sees it: deleted messages left out."""
        return [m for m in await self.messages(user_id) if not m["deleted"]]

    async def last_bot_message(self, user_id: int) -> dict[str, Any]:
        bot = [m for m in await self.visible(user_id) if m["from"] == "bot"]
        if not bot:
            raise ControlError(f"the bot has sent nothing visible to {user_id}")
        return bot[-1]

    async def wait(
        self, user_id: int, since: int, *, kinds: str | None = None, within: float | None = None
    ) -> dict[str, Any]:
        """Block until the bot sends, edits or deletes something after change ``since``; fails on timeout.

        ``kinds`` (comma-separated, e.g. ``"callback_answer"``) waits for other kinds of bot activity.
        """
        seconds = self.wait_timeout if within is None else within
        params: dict[str, Any] = {"since": since, "timeout": seconds}
        if kinds is not None:
            params["kinds"] = kinds
        result = await self.request("GET", f"/control/users/{user_id}/wait", params=params)
        if result["timed_out"]:
            chat = await self.messages(user_id)
            raise ControlError(f"the bot did nothing for {seconds}s after change {since}; chat: {chat}")
        return dict(result)

    async def wait_for(
        self,
        user_id: int,
        check: Callable[[list[dict[str, Any]]], T | None],
        *,
        since: int = 0,
        within: float | None = None,
    ) -> T:
        """Wait change by change (never sleeping) until ``check(visible messages)`` gives something truthy."""
        seconds = self.wait_timeout if within is None else within
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            found = check(await self.visible(user_id))
            if found:
                return found
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                chat = await self.visible(user_id)
                raise ControlError(f"condition not met within {seconds}s; chat: {chat}")
            result = await self.request(
                "GET", f"/control/users/{user_id}/wait", params={"since": since, "timeout": left}
            )
            since = result["change"]

    async def wait_for_bot_text(self, user_id: int, fragment: str, *, since: int = 0) -> dict[str, Any]:
        """The last visible bot message once its text or caption contains ``fragment``."""

        def check(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
            bot = [m for m in messages if m["from"] == "bot"]
            last = bot[-1] if bot else None
            if last is not None and fragment in (last["text"] or last["caption"] or ""):
                return last
            return None

        return await self.wait_for(user_id, check, since=since)

    async def send_and_wait(self, user_id: int, text: str) -> dict[str, Any]:
        """Send text, wait for the bot's first visible reaction, return its last visible message."""
        sent = await self.send(user_id, text)
        await self.wait(user_id, sent["change"])
        return await self.last_bot_message(user_id)

    async def callback(self, callback_query_id: str) -> dict[str, Any]:
        return dict(await self.request("GET", f"/control/callbacks/{callback_query_id}"))

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        return list(
            await self.request("GET", "/control/calls", params={"method": method} if method else None)
        )

    async def fault(self, method: str, kind: str, **options: Any) -> dict[str, Any]:
        return dict(
            await self.request("POST", "/control/faults", json={"method": method, "kind": kind, **options})
        )

    async def reset(self) -> None:
        await self.request("POST", "/control/reset")
