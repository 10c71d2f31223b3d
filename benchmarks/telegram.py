"""A Bot API session with aiogram's real request encoding and response parsing, and no network."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, cast
from urllib.parse import parse_qsl

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from app.telegram.bot import HOT_METHODS

BOT_USER = {"id": 42, "is_bot": True, "first_name": "UGC Bot", "username": "ugc_bench_bot"}
BOT_TOKEN = "42:BENCHMARK"
DATE = 1_790_000_000


class OfflineTelegramSession(AiohttpSession):
    """Encodes each call as AiohttpSession would post it, answers like Telegram, validates the answer.

    It also plays the user's screen: ``shown[chat_id]`` is the last message the bot sent or edited there, in
    the shape Telegram puts into a callback query, so a click presses a button that is really on screen.
    """

    def __init__(self, *, pin_response_types: bool = True) -> None:
        super().__init__()
        # check_response builds ``Response[T]`` on every call, and pydantic caches that class only weakly: a
        # GC pass drops it and the next call rebuilds it (about 5 ms). That random cost is the same whatever
        # the handlers are and swamps the comparison, so by default the classes are held (docs/benchmarks.md).
        answered = HOT_METHODS if pin_response_types else ()  # the app's own session pins the same
        # mypy reads a subscript with a runtime value as a type expression; aiogram's own code does the same.
        self._pinned = [Response[m.__returning__] for m in answered]  # type: ignore[name-defined]
        self.shown: dict[int, dict[str, Any]] = {}
        self.calls: Counter[str] = Counter()
        self._last_message_id: dict[int, int] = {}

    def next_message_id(self, chat_id: int) -> int:
        """Telegram numbers the messages of a private chat, the user's and the bot's, in one sequence."""
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        return message_id

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 — BaseSession's signature; nothing here waits
    ) -> TelegramType:
        form = self.build_form_data(bot=bot, method=method)
        body = await form().as_bytes()
        api_method = method.__api_method__
        self.calls[api_method] += 1
        status, content = self._answer(api_method, dict(parse_qsl(body.decode())))
        response = self.check_response(bot=bot, method=method, status_code=status, content=content)
        return cast(TelegramType, response.result)

    def _answer(self, api_method: str, fields: dict[str, str]) -> tuple[int, str]:
        if api_method == "answerCallbackQuery":
            return 200, '{"ok":true,"result":true}'
        if api_method in {"sendMessage", "editMessageText"}:
            chat_id = int(fields["chat_id"])
            message_id = (
                self.next_message_id(chat_id) if api_method == "sendMessage" else int(fields["message_id"])
            )
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": DATE,
                "chat": {"id": chat_id, "type": "private", "first_name": "Bench"},
                "from": BOT_USER,
                "text": fields["text"],
            }
            if "reply_markup" in fields:
                message["reply_markup"] = json.loads(fields["reply_markup"])
            if api_method == "editMessageText":
                message["edit_date"] = DATE
            self.shown[chat_id] = message
            return 200, json.dumps({"ok": True, "result": message})
        # Anything else is a change in what a click costs: fail loudly instead of measuring it silently.
        return 400, json.dumps(
            {"ok": False, "error_code": 400, "description": f"Bad Request: {api_method} is not expected here"}
        )
