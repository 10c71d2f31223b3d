"""A fake Bot API on loopback: records every call, answers like Telegram, fails on demand."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Methods Telegram answers with a bare ``true``.
TRUE_ANSWERS = frozenset(
    [
        "setWebhook",
        "deleteWebhook",
        "setMyCommands",
        "deleteMyCommands",
        "answerCallbackQuery",
        "deleteMessage",
        "sendChatAction",
    ]
)
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "UGC Bot", "username": "ugc_test_bot"}


@dataclass
class Call:
    method: str
    token: str
    params: dict[str, Any]


@dataclass
class FakeBotApi:
    """Set ``url`` as TELEGRAM_API_URL; ``fail(method, status, ...)`` queues an error for the next call."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    webhook_url: str = ""
    _failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)

    def fail(
        self, method: str, status: int, description: str, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self._failures.setdefault(method, []).extend([(status, body)] * times)

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def push_update(self, **payload: Any) -> dict[str, Any]:
        """Queue an update for getUpdates; returns it with its update_id."""
        update = {"update_id": next(self._update_ids), **payload}
        self.updates.append(update)
        self._new_update.set()
        return update

    async def wait_for(self, method: str, count: int = 1, limit: float = 10.0) -> list[Call]:
        deadline = time.monotonic() + limit
        while len(self.called(method)) < count:
            if time.monotonic() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(
                    f"{method} called {len(self.called(method))} times, wanted {count}; saw {seen}"
                )
            await asyncio.sleep(0.02)
        return self.called(method)

    async def handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        form = await request.post()
        params = {k: _decode(v) for k, v in form.items() if isinstance(v, str)}
        self.calls.append(Call(method, token, params))
        queued = self._failures.get(method)
        if queued:
            status, body = queued.pop(0)
            return web.json_response(body, status=status)
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._updates(params)})
        result = self._answer(method, params)
        if result is None:
            body = {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            return web.json_response(body, status=404)
        return web.json_response({"ok": True, "result": result})

    async def _updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0))
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new_update.clear()
            timeout = min(float(params.get("timeout", 0)), 1.0)
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout)
            except TimeoutError:
                return []
        return list(self.updates)

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method in {"sendMessage", "editMessageText", "editMessageReplyMarkup"}:
            return self._message(params)
        if method == "setWebhook":
            self.webhook_url = params["url"]
        elif method == "deleteWebhook":
            self.webhook_url = ""
        answers: dict[str, Any] = {
            "getMe": BOT_USER,
            "getWebhookInfo": {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": 0,
            },
        }
        return True if method in TRUE_ANSWERS else answers.get(method)

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message_id = int(params["message_id"]) if "message_id" in params else next(self._message_ids)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message


def _decode(value: str) -> Any:
    # aiogram sends nested objects (reply_markup, commands, allowed_updates) as JSON strings.
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@asynccontextmanager
async def fake_bot_api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", api.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # port 0: ask the OS which one
    api.url = f"http://127.0.0.1:{port}"
    try:
        yield api
    finally:
        await runner.cleanup()
