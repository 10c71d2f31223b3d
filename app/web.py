"""The bot's HTTP side (aiohttp): Telegram's webhook, ``/health`` for probes and a plain ``/`` page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from app.logs import get_logger

log = get_logger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# A health check says whether its dependency works; raising or hanging past the timeout also means "down".
HealthCheck = Callable[[], Awaitable[bool]]


class WebhookEndpoint:
    """``POST <path>``: checks Telegram's secret header, then feeds the update to the Dispatcher.

    Telegram gets its 200 at once, so a slow handler never makes it resend; the endpoint owns every update
    task and :meth:`drain` waits for them at shutdown.
    """

    def __init__(self, dispatcher: Dispatcher, bot: Bot, *, secret: str, drain_timeout: float = 10.0) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret")
        self._dispatcher = dispatcher
        self._bot = bot
        self._secret = secret
        self._drain_timeout = drain_timeout
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(given.encode(), self._secret.encode()):
            log.warning("webhook: request with a wrong or missing secret refused", peer=request.remote)
            return web.Response(status=401, text="Unauthorized")
        try:
            payload: Any = await request.json()
            update = Update.model_validate(payload, context={"bot": self._bot})
        except (json.JSONDecodeError, UnicodeDecodeError, ValidationError):
            return web.Response(status=400, text="Bad Request: not a Telegram update")
        task = asyncio.create_task(self._process(update), name=f"update-{update.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({})

    async def _process(self, update: Update) -> None:
        try:
            result = await self._dispatcher.feed_update(self._bot, update)
            if isinstance(result, TelegramMethod):
                await self._dispatcher.silent_call_request(self._bot, result)
        except Exception:
            log.exception("webhook: update failed", update_id=update.update_id)

    async def drain(self) -> None:
        """Wait for updates still being handled; cancel what is left after the drain timeout."""
        if not self._tasks:
            return
        log.info("webhook: waiting for updates in progress", count=len(self._tasks))
        _, pending = await asyncio.wait(set(self._tasks), timeout=self._drain_timeout)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def create_app(
    *,
    title: str,
    health_checks: Mapping[str, HealthCheck],
    webhook: WebhookEndpoint | None = None,
    webhook_path: str = "/webhook",
    health_timeout: float = 2.0,
    routes: Sequence[web.RouteDef] = (),
    providers: Mapping[str, str] | None = None,
) -> web.Application:
    """The aiohttp application; the caller runs it (AppRunner) and owns the collaborators.

    ``routes`` are more endpoints (fal.ai's webhook, signed files); ``providers`` says in ``/health`` which
    provider does what (never a key)."""
    app = web.Application()

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=f"{title} is running. Health: /health\n")

    async def health(request: web.Request) -> web.Response:
        names = list(health_checks)
        results = await asyncio.gather(*(_probe(name, health_checks[name], health_timeout) for name in names))
        body: dict[str, str] = dict(zip(names, results, strict=True))
        ok = all(result == "ok" for result in results)
        answer: dict[str, Any] = {"status": "ok" if ok else "degraded", **body}
        if providers:
            answer["providers"] = dict(providers)
        return web.json_response(answer, status=200 if ok else 503)

    app.router.add_get("/", index)
    app.router.add_get("/health", health)
    app.router.add_routes(routes)
    if webhook is not None:
        app.router.add_post(webhook_path, webhook.handle)

        async def drain(_: web.Application) -> None:
            await webhook.drain()

        app.on_shutdown.append(drain)
    return app


async def _probe(name: str, check: HealthCheck, limit: float) -> str:
    try:
        async with asyncio.timeout(limit):
            ok = await check()
    except Exception as exc:  # any failure of a dependency means "down", whatever its type
        log.warning("health: dependency is down", dependency=name, error=f"{type(exc).__name__}: {exc}")
        return "down"
    if not ok:
        log.warning("health: dependency is down", dependency=name)
    return "ok" if ok else "down"
