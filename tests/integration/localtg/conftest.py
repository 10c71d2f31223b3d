"""The local Telegram on a free port in the test's event loop, a control client and a real aiogram ``Bot``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from app.localtg import Settings
from tests.support.localtg import ControlClient, RunningServer, local_telegram_server

USER_ID = 42


class QuickCloseSession(AiohttpSession):
    """aiogram sleeps 250 ms on close for TLS shutdown; loopback HTTP needs none of it."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(url: str, token: str) -> Bot:
    return Bot(token, session=QuickCloseSession(api=TelegramAPIServer.from_base(url)))


@pytest.fixture
def settings() -> Settings:
    return Settings(webhook_retry_first=0.05, webhook_retry_max=0.2, pre_checkout_timeout=3.0)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with local_telegram_server(settings) as running:
        yield running


@pytest.fixture
async def tg(server: RunningServer) -> AsyncIterator[ControlClient]:
    async with ControlClient(server.url) as client:
        yield client


@pytest.fixture
async def bot(server: RunningServer) -> AsyncIterator[Bot]:
    bot = make_bot(server.url, server.token)
    yield bot
    await bot.session.close()


@pytest.fixture
async def user(tg: ControlClient) -> int:
    """A user who has opened the chat with /start, so the bot may write to them."""
    await tg.create_user(USER_ID, "Ann", username="ann", language_code="en")
    await tg.send(USER_ID, "/start")
    return USER_ID
