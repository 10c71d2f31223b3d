"""The Bot from create_bot against a fake Bot API that fails first: users never see a transient 429 or 502."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramServerError

from app.config import load_settings
from app.telegram import RetryPolicy, create_bot
from tests.integration.runtime.fake_bot_api import FakeBotApi, fake_bot_api

TOKEN = "123456:TEST-token"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with fake_bot_api() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.url})
    bot = create_bot(settings, retry=RetryPolicy(base_delay=0.01))
    yield bot
    await bot.session.close()


async def test_requests_go_to_the_configured_server_with_the_token(api: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "ugc_test_bot"
    assert [(c.method, c.token) for c in api.calls] == [("getMe", TOKEN)]


async def test_a_message_refused_with_429_is_sent_after_retry_after(api: FakeBotApi, bot: Bot) -> None:
    api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    message = await bot.send_message(501, "Привет")
    assert message.text == "Привет"
    assert len(api.called("sendMessage")) == 2


async def test_502_on_an_edit_is_retried_until_it_works(api: FakeBotApi, bot: Bot) -> None:
    api.fail("editMessageText", 502, "Bad Gateway", times=2)
    edited = await bot.edit_message_text("menu", chat_id=501, message_id=9)
    assert not isinstance(edited, bool) and edited.text == "menu"
    assert len(api.called("editMessageText")) == 3


async def test_502_on_send_message_is_not_repeated_so_the_user_never_gets_it_twice(
    api: FakeBotApi, bot: Bot
) -> None:
    api.fail("sendMessage", 502, "Bad Gateway")
    with pytest.raises(TelegramServerError):
        await bot.send_message(501, "Готово")
    assert len(api.called("sendMessage")) == 1


async def test_default_parse_mode_is_none_so_yaml_texts_are_sent_verbatim(api: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(501, "<b>not bold</b>")
    assert "parse_mode" not in api.called("sendMessage")[0].params
