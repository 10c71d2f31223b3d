"""Attach compiled flows to a Dispatcher, with recovery from stale buttons and renamed windows (U17, E4).

aiogram-dialog raises ``UnknownIntent`` (the context is gone: storage flushed or expired),
``OutdatedIntent`` (a button of a dialog that is no longer on top) and ``UnknownState`` (a saved state that
flows.yaml no longer has) from its own middlewares, before any handler runs; only a Dispatcher-level error
handler sees them. It answers a stale button with ``common.session_expired`` and rebuilds the user's stack:
a command message still runs its command (so ``/start <payload>`` keeps its deep link), anything else opens
the start window as a new message.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import CallbackQuery, ErrorEvent, Message, TelegramObject, User
from aiogram_dialog import BgManagerFactory, DialogManager, ShowMode, StartMode, setup_dialogs
from aiogram_dialog.api.exceptions import OutdatedIntent, UnknownIntent, UnknownState
from aiogram_dialog.api.internal import STACK_KEY
from aiogram_dialog.api.protocols import MediaIdStorageProtocol, MessageManagerProtocol

from dialogs.compile import SESSION_EXPIRED_KEY, CompiledFlows
from dialogs.i18n import TextCatalog
from dialogs.registry import LOCALE_KEY

logger = logging.getLogger(__name__)

RECOVERABLE = (UnknownIntent, OutdatedIntent, UnknownState)


def attach_flows(
    dp: Dispatcher,
    compiled: CompiledFlows,
    texts: TextCatalog,
    *,
    events_isolation: BaseEventIsolation,
    message_manager: MessageManagerProtocol | None = None,
    media_id_storage: MediaIdStorageProtocol | None = None,
) -> BgManagerFactory:
    """Include the flows, register the recovery handler, set aiogram-dialog up; once per Dispatcher."""
    dp.include_router(compiled.router)
    dp.errors.register(_recovery_handler(compiled, texts), ExceptionTypeFilter(*RECOVERABLE))
    factory: BgManagerFactory = setup_dialogs(
        dp,
        events_isolation=events_isolation,
        message_manager=message_manager,
        media_id_storage=media_id_storage,
    )
    # After aiogram-dialog's own middlewares (the user's stack is loaded by then).
    dp.callback_query.middleware(_ignore_superseded_messages)
    return factory


async def _ignore_superseded_messages(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """A tap on a message the dialog has since replaced by a newer one is answered and otherwise ignored.

    aiogram-dialog renders the current window into the message a button was tapped on. When the dialog has
    moved on to a new message (a finished video sent under the progress message, say), a tap still in flight
    on the old message would turn that old message into a second copy of the current window.
    """
    stack = data.get(STACK_KEY)
    message = getattr(event, "message", None)
    last = getattr(stack, "last_message_id", None)
    if (
        isinstance(event, CallbackQuery)
        and isinstance(message, Message)
        and last is not None
        and message.message_id != last
    ):
        logger.info("tap on superseded message %s ignored (current: %s)", message.message_id, last)
        with contextlib.suppress(TelegramAPIError):
            await event.answer()
        return None
    return await handler(event, data)


def command_of(message: Message | None) -> tuple[str, str | None] | None:
    """(name, args) of a ``/command[@bot] [args]`` message, else None."""
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    head, _, args = message.text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return (name, args.strip() or None) if name else None


def _telegram_locale(user: User | None, texts: TextCatalog) -> str:
    """The user's Telegram language when the texts have it, else the default locale."""
    code = (user.language_code or "").split("-")[0].lower() if user is not None else ""
    return code if code in texts.locales else texts.default_locale


def _recovery_handler(compiled: CompiledFlows, texts: TextCatalog) -> Any:
    async def recover(event: ErrorEvent, dialog_manager: DialogManager | None = None, **data: Any) -> None:
        update = event.update
        logger.info(
            "recovering user from %s: %s",
            type(event.exception).__name__,
            event.exception,
        )
        locale = data.get(LOCALE_KEY) or _telegram_locale(data.get("event_from_user"), texts)
        if dialog_manager is not None:
            # Locale middlewares on the message/callback observers never see an error event: give it one.
            dialog_manager.middleware_data.setdefault(LOCALE_KEY, locale)
        if update.callback_query is not None:
            await update.callback_query.answer(texts.render(locale, SESSION_EXPIRED_KEY, {}))
        if dialog_manager is None:
            # aiogram-dialog could not attach a manager (no chat or user in the update): nothing to rebuild.
            return
        command = command_of(update.message)
        runner = compiled.commands.get(command[0]) if command else None
        if command is not None and runner is not None:
            await runner(dialog_manager, command[1])
        else:
            await dialog_manager.start(
                compiled.start_state, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND
            )

    return recover
