"""The web chat in headless chromium: /start, the menu, FAQ, a file upload and the invoice Pay button."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Dispatcher, F
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)
from playwright.async_api import Browser, expect

from tests.conftest import CHROMIUM
from tests.integration.localtg.conftest import make_bot
from tests.support.localtg import ControlClient, RunningServer, local_telegram_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]
SCREENSHOT = Path("/tmp/webchat.png")
USER = 42


def menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="FAQ", callback_data="faq")],
            [InlineKeyboardButton(text="Our site", url="https://example.com/")],
        ]
    )


def tiny_bot() -> Dispatcher:
    """A bot with a menu, an FAQ page, a reaction to videos and a Stars invoice."""
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("<b>Main menu</b>\nPick a topic:", parse_mode="HTML", reply_markup=menu())

    @dp.callback_query(F.data == "faq")
    async def faq(query: CallbackQuery) -> None:
        back = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Back", callback_data="back")]]
        )
        assert isinstance(query.message, Message)
        await query.message.edit_text(
            "Frequently asked questions: videos take about a minute.", reply_markup=back
        )
        await query.answer("FAQ opened")

    @dp.callback_query(F.data == "back")
    async def back(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text(
            "<b>Main menu</b>\nPick a topic:", parse_mode="HTML", reply_markup=menu()
        )
        await query.answer()

    @dp.message(F.video)
    async def video(message: Message) -> None:
        assert message.video is not None
        v = message.video
        await message.answer_video(
            v.file_id, caption=f"Background saved: {v.width}×{v.height}, {v.duration} s"
        )

    @dp.message(Command("buy"))
    async def buy(message: Message) -> None:
        await message.answer_invoice(
            "50 credits",
            "Credits for five videos",
            "pack:50",
            currency="XTR",
            prices=[LabeledPrice(label="50", amount=50)],
        )

    @dp.pre_checkout_query()
    async def checkout(query: PreCheckoutQuery) -> None:
        await query.answer(ok=True)

    @dp.message(F.successful_payment)
    async def paid(message: Message) -> None:
        assert message.successful_payment is not None
        await message.answer(f"Thanks! {message.successful_payment.total_amount} stars received.")

    return dp


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    path = tmp_path / "background.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=360x640:rate=10", "-t", "2",
            "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture
async def running() -> AsyncIterator[RunningServer]:
    """The stand-in plus the tiny bot polling it."""
    async with local_telegram_server() as server:
        bot = make_bot(server.url, server.token)
        dp = tiny_bot()
        started = asyncio.Event()

        async def on_startup() -> None:
            started.set()

        dp.startup.register(on_startup)
        task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
        await asyncio.wait_for(started.wait(), 10)
        yield server
        await dp.stop_polling()
        await asyncio.wait_for(task, 10)


async def test_a_person_chats_with_the_bot_in_the_web_chat(
    running: RunningServer, browser: Browser, clip: Path
) -> None:
    async with ControlClient(running.url) as tg:
        await tg.create_user(USER, "Ann", username="ann")
    page = await browser.new_page(viewport={"width": 1100, "height": 820})
    await page.goto(f"{running.url}/#user={USER}")
    await expect(page.locator("#users li.active")).to_contain_text("Ann")

    await page.fill("#text", "/start")
    await page.press("#text", "Enter")

    chat = page.locator("#messages")
    await expect(chat.locator(".row.user").first).to_contain_text("/start")
    await expect(chat.locator(".row.bot b")).to_have_text("Main menu")
    await expect(page.get_by_role("button", name="Our site")).to_be_visible()

    await page.get_by_role("button", name="FAQ").click()
    await expect(chat).to_contain_text("Frequently asked questions")
    await expect(page.locator("#toast")).to_have_text("FAQ opened")
    await expect(chat.locator(".row.bot .meta").first).to_contain_text("edited")

    await page.set_input_files("#file-input", str(clip))
    await expect(chat.locator(".row.user video")).to_have_count(1)
    await expect(chat).to_contain_text("Background saved: 360×640, 2 s")
    await expect(chat.locator(".row.bot video")).to_have_count(1)

    await page.fill("#text", "/buy")
    await page.press("#text", "Enter")
    await page.get_by_role("button", name="Pay ⭐️50").click()
    await expect(chat).to_contain_text("Thanks! 50 stars received.")
    await expect(chat.locator(".paid-badge")).to_have_text("Paid ✓")

    await page.set_viewport_size({"width": 1100, "height": 1500})  # the whole conversation in one picture
    await page.screenshot(path=str(SCREENSHOT))
    async with ControlClient(running.url) as tg:
        kinds = [(m["from"], m["media"]["kind"] if m["media"] else None) for m in await tg.visible(USER)]
    assert ("user", "video") in kinds and ("bot", "video") in kinds
