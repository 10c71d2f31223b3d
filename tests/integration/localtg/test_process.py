"""``python -m app local-telegram`` as a real process, as the end-to-end tests and ``make run`` start it."""

from __future__ import annotations

import signal

import aiohttp
import pytest

from tests.integration.localtg.conftest import make_bot
from tests.support.localtg import ControlClient, local_telegram_process

pytestmark = pytest.mark.e2e


async def test_the_cli_serves_bot_api_control_api_and_web_chat_then_stops_on_sigterm() -> None:
    with local_telegram_process(token="777:e2e-token") as proc:
        bot = make_bot(proc.url, proc.token)
        try:
            assert (await bot.get_me()).id == 777
        finally:
            await bot.session.close()
        async with ControlClient(proc.url) as tg:
            await tg.create_user(1, "Ann")
            assert (await tg.send(1, "hi"))["message_id"] == 1
        async with aiohttp.ClientSession() as http, http.get(proc.url + "/") as page:
            assert "Local Telegram" in await page.text()
        proc.process.send_signal(signal.SIGTERM)
        assert proc.process.wait(timeout=10) == 0
        assert f"Open {proc.url} to chat with the bot" in proc.output()
