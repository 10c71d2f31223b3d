"""The real bot process in webhook mode: the local Telegram stand-in POSTs updates to it with the secret."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BotStarter
from tests.support.localtg import ControlClient

pytestmark = pytest.mark.e2e
USER = 7101
SECRET = "e2e-Webhook_secret"


def start_update(update_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 99,
            "date": 1_700_000_000,
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_webhook_mode_serves_the_conversation_and_refuses_a_wrong_secret(
    start_bot: BotStarter, tg: ControlClient, bot_env: dict[str, str]
) -> None:
    webhook_url = f"http://127.0.0.1:{bot_env['WEB_PORT']}/webhook"
    bot = start_bot(WEBHOOK_URL=webhook_url, WEBHOOK_SECRET=SECRET)

    info = await tg.request("GET", "/control/state")
    assert info["webhook"]["url"] == webhook_url, "the bot registered its webhook on start"

    await tg.create_user(USER, "Wendy", language_code="en")
    sent = await tg.send(USER, "/start")
    menu = await tg.wait_for_bot_text(USER, "What would you like to do?", since=sent["change"])
    assert "Balance: 50 cr." in menu["text"]

    async with httpx.AsyncClient() as http:
        wrong = await http.post(
            webhook_url, json=start_update(900001), headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
        )
        missing = await http.post(webhook_url, json=start_update(900002))
    assert (wrong.status_code, missing.status_code) == (401, 401)

    pressed = await tg.click(USER, menu["message_id"], button="❓ FAQ")
    await tg.wait_for_bot_text(USER, "Pick one", since=pressed["change"])
    chat = await tg.messages(USER)
    menus = [m for m in chat if m["from"] == "bot" and "What would you like to do?" in (m["text"] or "")]
    assert menus == [], "the only menu became the FAQ; a forged /start would have sent another one"
    assert bot.stop() == 0
