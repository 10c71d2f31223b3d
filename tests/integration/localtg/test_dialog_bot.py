"""A tiny aiogram-dialog bot polling the stand-in, clicked through by a user via the control API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.filters import CommandStart
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram_dialog import Dialog, DialogManager, StartMode, Window, setup_dialogs
from aiogram_dialog.test_tools.memory_storage import JsonMemoryStorage
from aiogram_dialog.widgets.kbd import Back, SwitchTo
from aiogram_dialog.widgets.text import Const

from tests.support.localtg import ControlClient, ControlError

USER = 501


class Menu(StatesGroup):
    main = State()
    faq = State()


def build_dispatcher() -> Dispatcher:
    dp = Dispatcher(storage=JsonMemoryStorage())
    dp.include_router(
        Dialog(
            Window(Const("Main menu"), SwitchTo(Const("FAQ"), id="faq", state=Menu.faq), state=Menu.main),
            Window(Const("Frequently asked questions"), Back(Const("Back")), state=Menu.faq),
        )
    )

    @dp.message(CommandStart())
    async def start(message: Message, dialog_manager: DialogManager) -> None:
        await dialog_manager.start(Menu.main, mode=StartMode.RESET_STACK)

    @dp.message(F.text)
    async def anything(message: Message) -> Any:
        await message.answer("Send /start")

    setup_dialogs(dp)
    return dp


@pytest.fixture
async def polling(bot: Bot) -> AsyncIterator[None]:
    dp = build_dispatcher()
    running = asyncio.Event()

    async def on_startup() -> None:
        running.set()

    dp.startup.register(on_startup)
    task = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
    )
    await asyncio.wait_for(running.wait(), 10)
    yield
    await dp.stop_polling()
    await asyncio.wait_for(task, 10)


def last_bot(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    bot = [m for m in messages if m["from"] == "bot"]
    return bot[-1] if bot else None


async def test_a_user_clicks_through_a_dialog_window_by_window(polling: None, tg: ControlClient) -> None:
    await tg.create_user(USER, "Dana")
    started = await tg.send(USER, "/start")

    menu = await tg.wait_for_bot_text(USER, "Main menu", since=started["change"])
    assert [[b["text"] for b in row] for row in menu["buttons"]] == [["FAQ"]]

    clicked = await tg.click(USER, menu["message_id"], button="FAQ")
    faq = await tg.wait_for_bot_text(USER, "Frequently asked questions", since=clicked["change"])

    assert faq["message_id"] == menu["message_id"] and faq["edited"]  # the dialog edits its one message
    assert [[b["text"] for b in row] for row in faq["buttons"]] == [["Back"]]
    answered = await tg.wait(USER, clicked["change"], kinds="callback_answer")
    assert answered["changes"][0]["callback_query_id"] == clicked["callback_query_id"]
    with pytest.raises(ControlError, match="no button 'FAQ'"):
        await tg.click(USER, faq["message_id"], button="FAQ")

    back = await tg.click(USER, faq["message_id"], button="Back")
    again = await tg.wait_for_bot_text(USER, "Main menu", since=back["change"])
    assert again["message_id"] == menu["message_id"]


async def test_text_outside_a_dialog_gets_the_fallback_answer(polling: None, tg: ControlClient) -> None:
    await tg.create_user(USER, "Dana")

    reply = await tg.send_and_wait(USER, "hello")

    assert reply["text"] == "Send /start"
