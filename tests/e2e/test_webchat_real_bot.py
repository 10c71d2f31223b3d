"""A person in the web chat (headless chromium) talking to the real bot process: menu, FAQ, hints."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import BotStarter
from tests.support.localtg import ControlClient, ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
USER = 7201
SCREENSHOT = Path("/tmp/webchat-real-bot.png")


async def test_a_person_clicks_through_the_real_bot_in_the_browser(
    start_bot: BotStarter, telegram: ServerProcess, tg: ControlClient, browser: Browser
) -> None:
    start_bot()
    await tg.create_user(USER, "Мария", language_code="ru")
    page = await browser.new_page(viewport={"width": 1000, "height": 900})
    await page.goto(f"{telegram.url}/#user={USER}")
    await expect(page.locator("#users li.active")).to_contain_text("Мария")

    await page.fill("#text", "/start")
    await page.press("#text", "Enter")
    chat = page.locator("#messages")
    await expect(chat).to_contain_text("Баланс: 50 кр.")

    await page.get_by_role("button", name="❓ FAQ").click()
    await expect(chat).to_contain_text("Частые вопросы")
    await page.get_by_role("button", name="Что такое кредиты?").click()
    await expect(chat).to_contain_text("Кредиты — внутренняя валюта")

    await page.fill("#text", "привет")
    await page.press("#text", "Enter")
    await expect(chat).to_contain_text("Я жду нажатия на кнопку")

    await page.screenshot(path=str(SCREENSHOT), full_page=True)
