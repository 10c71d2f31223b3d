"""Updates: long polling with offset and allowed_updates; webhooks with the secret header and retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.integration.localtg.conftest import USER_ID
from tests.support.localtg import ControlClient, RunningServer


async def polling_started(server: RunningServer, polls: int = 1) -> None:
    """Until the server has received ``polls`` getUpdates calls (same event loop: no sleeping needed)."""
    state = server.server.state
    assert await state.wait_until(lambda: state.poll_generation >= polls, 5)


async def test_long_poll_returns_as_soon_as_the_user_writes(
    bot: Bot, tg: ControlClient, server: RunningServer
) -> None:
    await tg.create_user(USER_ID, "Ann")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await polling_started(server)

    await tg.send(USER_ID, "hello")
    updates = await asyncio.wait_for(poll, 5)

    assert time.monotonic() - started < 5
    assert [u.message.text for u in updates if u.message] == ["hello"]
    assert updates[0].message is not None and updates[0].message.from_user is not None
    assert updates[0].message.from_user.first_name == "Ann"


async def test_an_empty_long_poll_ends_after_its_timeout(bot: Bot, tg: ControlClient) -> None:
    started = time.monotonic()

    assert await bot.get_updates(timeout=1) == []

    assert 0.9 < time.monotonic() - started < 3


async def test_offset_confirms_updates_and_a_negative_offset_keeps_the_last_ones(
    bot: Bot, tg: ControlClient
) -> None:
    await tg.create_user(USER_ID, "Ann")
    for text in ("one", "two", "three"):
        await tg.send(USER_ID, text)

    first = await bot.get_updates()
    again = await bot.get_updates(offset=first[0].update_id + 1)
    last = await bot.get_updates(offset=-1)

    assert [u.message.text for u in first if u.message] == ["one", "two", "three"]
    assert [u.message.text for u in again if u.message] == ["two", "three"]
    assert [u.message.text for u in last if u.message] == ["three"]
    assert await bot.get_updates(offset=last[0].update_id + 1) == []


async def test_allowed_updates_drops_the_kinds_the_bot_did_not_ask_for(bot: Bot, tg: ControlClient) -> None:
    await tg.create_user(USER_ID, "Ann")
    await tg.send(USER_ID, "/start")
    await bot.get_updates(allowed_updates=["message"])
    sent = await bot.send_message(
        USER_ID,
        "Menu",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]]
        ),
    )

    await tg.click(USER_ID, sent.message_id, button="Go")
    updates = await bot.get_updates(timeout=0)

    assert [u.callback_query for u in updates if u.callback_query] == []
    dropped = (await tg.request("GET", "/control/updates"))["dropped"]
    assert [d["kind"] for d in dropped] == ["callback_query"]


async def test_a_second_poller_terminates_the_first_like_two_running_bots(
    bot: Bot, server: RunningServer
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await polling_started(server)

    second = asyncio.create_task(bot.get_updates(timeout=0))

    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 5)
    assert await second == []


@dataclass
class Receiver:
    """A bot-side webhook endpoint that fails its first ``failures`` deliveries with HTTP 500."""

    failures: int = 0
    seen: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    delivered: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        if len(self.seen) <= self.failures:
            return web.Response(status=500)
        self.delivered.set()
        return web.json_response({})


Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a bot-side aiohttp app on a free port; returns its ``/hook`` URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}/hook"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_webhook_delivers_with_the_secret_header_and_retries_after_a_500(
    bot: Bot, tg: ControlClient, serve: Serve
) -> None:
    receiver = Receiver(failures=1)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    url = await serve(app)
    assert await bot.set_webhook(url, secret_token="s3cret_token-1")
    await tg.create_user(USER_ID, "Ann")

    await tg.send(USER_ID, "/start")
    await asyncio.wait_for(receiver.delivered.wait(), 5)

    assert [secret for secret, _ in receiver.seen] == ["s3cret_token-1", "s3cret_token-1"]
    assert receiver.seen[0][1] == receiver.seen[1][1]
    assert receiver.seen[1][1]["message"]["text"] == "/start"
    info = await bot.get_webhook_info()
    assert info.url == url
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()


async def test_a_bad_secret_token_is_refused(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="no spaces allowed")


async def test_an_aiogram_webhook_answering_with_a_method_gets_it_executed(
    bot: Bot, tg: ControlClient, serve: Serve
) -> None:
    app = web.Application()
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> Any:
        return message.answer(
            f"echo: {message.text}"
        )  # returned, not awaited: it rides on the webhook answer

    SimpleRequestHandler(dp, bot, secret_token="hook-secret", handle_in_background=False).register(
        app, "/hook"
    )
    url = await serve(app)
    await bot.set_webhook(url, secret_token="hook-secret")
    await tg.create_user(USER_ID, "Ann")

    sent = await tg.send(USER_ID, "ping")

    await tg.wait(USER_ID, sent["change"])
    assert (await tg.last_bot_message(USER_ID))["text"] == "echo: ping"
    assert await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []
