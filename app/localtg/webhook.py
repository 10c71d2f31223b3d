"""Webhook delivery: POST each pending update to the bot in order, retrying non-2xx answers with backoff.

Like Telegram, a 2xx answer may carry a Bot API call (JSON or multipart with ``method``); it is executed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from app.localtg.files import FileStore
from app.localtg.forms import Form, read_multipart
from app.localtg.settings import Settings
from app.localtg.state import State, Webhook, now

log = logging.getLogger(__name__)
DELIVERY_TIMEOUT = 60.0
# Telegram never executes these when they come back as a webhook answer.
_NOT_IN_ANSWERS = ("setwebhook", "deletewebhook", "close", "logout")

Execute = Callable[[str, Form], Awaitable[Any]]


def _replaced(state: State, hook: Webhook) -> Callable[[], bool]:
    return lambda: state.webhook is not hook


class WebhookSender:
    """One loop per server, started and cancelled by the server's lifecycle."""

    def __init__(self, settings: Settings, state: State, files: FileStore, execute: Execute) -> None:
        self._settings = settings
        self._state = state
        self._files = files
        self._execute = execute
        self.delivered = 0

    async def run(self, http: aiohttp.ClientSession) -> None:
        state = self._state
        delay = self._settings.webhook_retry_first
        while not state.closing:
            await state.wait_until(lambda: state.webhook is not None and bool(state.updates), 3600)
            hook = state.webhook
            if hook is None or not state.updates:
                continue
            update = state.updates[0]
            error, retry_after = await self._deliver(http, hook, update)
            if state.webhook is not hook:
                continue
            if error is None:
                state.updates = [u for u in state.updates if u["update_id"] != update["update_id"]]
                self.delivered += 1
                delay = self._settings.webhook_retry_first
                state.pulse()
                continue
            hook.last_error_date = now()
            hook.last_error_message = error
            log.info("webhook delivery of update %s failed: %s", update["update_id"], error)
            wait = float(retry_after) if retry_after else delay
            await state.wait_until(_replaced(state, hook), wait)
            delay = min(delay * 2, self._settings.webhook_retry_max)

    async def _deliver(
        self, http: aiohttp.ClientSession, hook: Webhook, update: dict[str, Any]
    ) -> tuple[str | None, int | None]:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with http.post(
                hook.url,
                data=json.dumps(update),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT),
            ) as resp:
                if not 200 <= resp.status <= 299:
                    retry_after = resp.headers.get("Retry-After")
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                    return error, int(retry_after) if retry_after and retry_after.isdigit() else None
                form = await self._answer(resp)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Connection failed: {exc}" if str(exc) else "Connection failed", None
        if form is not None:
            await self._run_answer(form)
        return None, None

    async def _answer(self, resp: aiohttp.ClientResponse) -> Form | None:
        form = Form()
        if resp.content_type == "multipart/form-data":
            reader = aiohttp.MultipartReader(resp.headers, resp.content)
            await read_multipart(reader, self._files, self._settings.limits.upload_bytes, form)
        elif resp.content_type == "application/json":
            try:
                body = await resp.json()
            except (json.JSONDecodeError, aiohttp.ContentTypeError):
                return None
            if not isinstance(body, dict):
                return None
            form.values.update(body)
        else:
            return None
        return form if form.values.get("method") else None

    async def _run_answer(self, form: Form) -> None:
        method = str(form.values.pop("method"))
        lowered = method.lower()
        if lowered in _NOT_IN_ANSWERS or lowered.startswith("get"):
            form.discard()
            return
        try:
            await self._execute(method, form)
        finally:
            form.discard()
