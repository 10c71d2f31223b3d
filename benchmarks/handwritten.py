"""The benchmark windows of flows_bench.yaml written by hand with aiogram-dialog widgets: the baseline."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import CommandStart
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo, Url
from aiogram_dialog.widgets.text import Const, Format, Multi

from benchmarks.hooks import PROFILE, USER


class HandMain(StatesGroup):
    menu = State()
    profile = State()
    balance = State()


async def user_summary(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {**USER, "top_ups": dialog_manager.dialog_data.get("top_ups", 0)}


async def profile(**_: Any) -> dict[str, Any]:
    return dict(PROFILE)


async def top_up(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    manager.dialog_data["top_ups"] = manager.dialog_data.get("top_ups", 0) + 1
    await manager.switch_to(HandMain.balance)


async def start(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(HandMain.menu, mode=StartMode.RESET_STACK)


def build_router() -> Router:
    """A fresh router (a /start handler and the dialog) for one Dispatcher."""
    to_menu = "🏠 В меню"
    dialog = Dialog(
        Window(
            Format("👋 {first_name}, это UGC Bot.\n\n💰 Баланс: {balance} кр.\nВыберите, что сделать:"),
            Row(
                SwitchTo(Const("👤 Профиль"), id="menu_profile", state=HandMain.profile),
                SwitchTo(Const("💰 Баланс"), id="menu_balance", state=HandMain.balance),
            ),
            Url(Const("❓ Помощь"), Const("https://example.org/help"), id="menu_help"),
            state=HandMain.menu,
        ),
        Window(
            Multi(
                Const("👤 Профиль"),
                Format("{first_name}, тариф «{plan}», видео сделано: {videos}."),
            ),
            Button(Const("➕ Пополнить"), id="profile_top_up", on_click=top_up),
            SwitchTo(Const(to_menu), id="profile_to_menu", state=HandMain.menu),
            state=HandMain.profile,
            getter=profile,
        ),
        Window(
            Format("💰 Баланс: {balance} кр. Пополнений за сессию: {top_ups}."),
            SwitchTo(Const(to_menu), id="common_to_menu", state=HandMain.menu),
            state=HandMain.balance,
        ),
        getter=user_summary,
    )
    router = Router(name="handwritten")
    router.message.register(start, CommandStart())
    router.include_router(dialog)
    return router
