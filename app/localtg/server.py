"""One aiohttp app: the Bot API (``/bot<token>/<method>``), file downloads, the control API, the web chat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from app.localtg.bot_api import BotApi, Reply
from app.localtg.calls import CallLog, CallRecord
from app.localtg.control import Control
from app.localtg.errors import NOT_FOUND, UNAUTHORIZED, ApiError
from app.localtg.faults import FaultPlan
from app.localtg.files import FileStore
from app.localtg.forms import Form, Params, read_request
from app.localtg.settings import MB, Settings
from app.localtg.state import State
from app.localtg.webhook import WebhookSender

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent / "web"


@dataclass(frozen=True, slots=True)
class LocalTelegram:
    """The parts of one running server, reachable from the app for tests that want to look inside."""

    settings: Settings
    state: State
    files: FileStore
    api: BotApi
    calls: CallLog
    faults: FaultPlan
    webhook: WebhookSender


SERVER_KEY = web.AppKey("localtg", LocalTelegram)


class _BotEndpoint:
    """``/bot<token>/<method>`` and ``/file/bot<token>/<path>``."""

    def __init__(self, server: LocalTelegram) -> None:
        self.server = server

    async def execute(self, method: str, form: Form, record: CallRecord | None = None) -> Any:
        """Run one method (also used for calls that come back as webhook answers)."""
        server = self.server
        record = record or server.calls.start(method)
        started = time.perf_counter()
        try:
            handler = server.api.methods.get(method.lower())
            if handler is None:
                raise NOT_FOUND
            record.chat_id = server.api.chat_id_of(form)
            record.request_bytes = form.body_bytes
            record.files = [
                {"field": u.name, "file_name": u.filename, "size": u.size} for u in form.uploads.values()
            ]
            result = await handler(Params(form))
            record.status = 200
            return result
        except ApiError as exc:
            record.status, record.error = exc.status, exc.description
            raise
        finally:
            record.duration_ms = (time.perf_counter() - started) * 1000

    async def handle(self, request: web.Request) -> web.Response:
        server = self.server
        method = request.match_info["method"]
        record = server.calls.start(method)
        try:
            if request.match_info["token"] != server.settings.token:
                raise UNAUTHORIZED
            if method.lower() not in server.api.methods:
                raise NOT_FOUND
            form = await read_request(request, server.files, server.settings.limits.upload_bytes)
            try:
                record.chat_id = server.api.chat_id_of(form)
                fault = server.faults.take(method)
                if fault is not None:
                    record.fault = fault.kind
                    if fault.latency:
                        await asyncio.sleep(fault.latency)
                    if (error := fault.error()) is not None:
                        raise error
                result = await self.execute(method, form, record)
            finally:
                form.discard()
        except ApiError as exc:
            record.status, record.error = exc.status, exc.description
            return web.json_response(exc.payload(), status=exc.status)
        except Exception as exc:  # a stand-in bug must reach the bot as Telegram's JSON 500, not an HTML page
            log.exception("%s failed inside the stand-in", method)
            failure = ApiError(500, f"Internal Server Error: {type(exc).__name__}: {exc}")
            record.status, record.error = failure.status, failure.description
            return web.json_response(failure.payload(), status=failure.status)
        body: dict[str, Any] = {"ok": True, "result": result}
        if isinstance(result, Reply):
            body = {"ok": True, "result": result.result}
            if result.description:
                body["description"] = result.description
        return web.json_response(body)

    async def download(self, request: web.Request) -> web.StreamResponse:
        server = self.server
        if request.match_info["token"] != server.settings.token:
            return web.json_response(UNAUTHORIZED.payload(), status=401)
        stored = server.files.by_path(request.match_info["path"])
        if (
            stored is None
            or stored.size > server.settings.limits.download_bytes
            or not stored.disk_path.exists()
        ):
            return web.json_response(NOT_FOUND.payload(), status=404)
        return web.FileResponse(stored.disk_path, headers={"Content-Type": stored.mime_type})


@web.middleware
async def _telegram_not_found(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unknown paths under ``/bot`` and ``/file/`` answer Telegram's JSON 404, not aiohttp's text page."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.path.startswith(("/bot", "/file/")):
            return web.json_response(NOT_FOUND.payload(), status=404)
        raise


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def create_app(settings: Settings | None = None) -> web.Application:
    """A fresh, empty server; nothing is shared between two apps."""
    settings = settings or Settings()
    state = State()
    files = FileStore(settings.files_dir)
    api = BotApi(settings, state, files)
    calls = CallLog()
    faults = FaultPlan()
    endpoint: _BotEndpoint | None = None

    async def execute(method: str, form: Form) -> Any:
        assert endpoint is not None  # set just below, before the app can serve anything
        return await endpoint.execute(method, form)

    webhook = WebhookSender(settings, state, files, execute)
    server = LocalTelegram(settings, state, files, api, calls, faults, webhook)
    endpoint = _BotEndpoint(server)
    control = Control(settings=settings, state=state, files=files, api=api, calls=calls, faults=faults)

    # Bodies are streamed by forms.py; this cap only bounds url-encoded and JSON bodies read whole.
    app = web.Application(client_max_size=64 * MB, middlewares=[_telegram_not_found])
    app[SERVER_KEY] = server
    app.add_routes(
        [
            web.route("*", "/bot{token}/{method}", endpoint.handle),
            web.get("/file/bot{token}/{path:.+}", endpoint.download),
            *control.routes(),
            web.get("/", _index),
            web.static("/static", WEB_DIR),
        ]
    )
    app.cleanup_ctx.append(_lifecycle(server))
    app.on_shutdown.append(_wake_waiters(server))
    return app


def _wake_waiters(server: LocalTelegram) -> Callable[[web.Application], Awaitable[None]]:
    async def wake(app: web.Application) -> None:
        server.state.close()

    return wake


def _lifecycle(server: LocalTelegram) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        http = aiohttp.ClientSession()
        server.api.http = http
        task = asyncio.create_task(server.webhook.run(http), name="localtg-webhook")
        task.add_done_callback(_report_crash)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            server.state.reset()
            await http.close()
            server.files.close()

    return lifecycle


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("webhook delivery stopped", exc_info=task.exception())


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve until ``stop`` is set or SIGINT/SIGTERM arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    # handler_cancellation: a long poll whose client went away stops at once instead of holding its slot.
    runner = web.AppRunner(create_app(settings), access_log=None, handler_cancellation=True)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else settings.port
        line = f"Open http://{settings.host}:{port} to chat with the bot"
        if announce is None:
            print(line, flush=True)  # flushed: a supervisor reading our stdout through a pipe sees it now
        else:
            announce(line)
        await stop.wait()
    finally:
        await runner.cleanup()


def run(settings: Settings) -> None:
    """Blocking entry point used by ``python -m app local-telegram``."""
    asyncio.run(serve(settings))
