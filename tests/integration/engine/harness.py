"""Conversations with a Dispatcher built from inline flows YAML: real Redis, BotClient, MockMessageManager."""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from aiogram import Dispatcher
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import AnswerCallbackQuery, SendMessage, TelegramMethod
from aiogram.types import Chat, Message, TelegramObject, Update, Voice
from aiogram_dialog import DEFAULT_STACK_ID
from aiogram_dialog.test_tools import BotClient, MockMessageManager, mock_message_manager
from aiogram_dialog.test_tools.bot_client import FakeBot
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator
from redis.asyncio import Redis

from dialogs.attach import attach_flows
from dialogs.compile import CompiledFlows, compile_flows
from dialogs.i18n import TextCatalog
from dialogs.registry import LOCALE_KEY, SERVICES_KEY
from dialogs.schema import Flows
from tests.fakes.hooks import FakeHooks

# MockMessageManager fakes audio, document, photo and video messages only; flows.yaml also sends voice.
mock_message_manager.MEDIA_CLASSES.setdefault(
    "voice",
    lambda media: Voice(
        file_id=mock_message_manager.file_id(media),
        file_unique_id=mock_message_manager.file_unique_id(media),
        duration=1,
    ),
)

# Texts every engine test shares; each test's flows add only what they need through ``extra_texts``.
BASE_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "common.back": "Back",
        "common.unexpected_input": "Please tap a button.",
        "common.session_expired": "Expired, opening the menu.",
        "input.wrong_kind": "Please send: {accept}.",
        "input.too_short": "Too short: at least {min} (now {length}).",
        "input.too_long": "Too long: at most {max} (now {length}).",
        "input.too_big": "Too big: {size_mb} MB, limit {max_mb} MB.",
        "input.too_long_media": "Too long: {seconds} s, limit {max_seconds} s.",
        "input.wrong_type": "Wrong format ({mime}). Accepted: {allowed}.",
        "input.unreadable": "Unreadable.",
        "cmd.start": "Start",
        "cmd.help": "Help",
    },
    "ru": {
        "common.back": "Назад",
        "common.unexpected_input": "Нажмите кнопку.",
        "common.session_expired": "Устарело, открываю меню.",
        "input.wrong_kind": "Отправьте: {accept}.",
        "cmd.start": "Старт",
        "cmd.help": "Помощь",
    },
}


class RecordingBot(FakeBot):  # type: ignore[misc]
    """FakeBot that also takes sendMessage (replies outside the dialog); records what the user would see."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[str] = []
        self.callback_answers: list[str | None] = []
        self._ids = itertools.count(10_000)

    async def __call__(self, method: TelegramMethod[Any], request_timeout: int | None = None) -> Any:
        if isinstance(method, AnswerCallbackQuery):
            self.callback_answers.append(method.text)
            return True
        if isinstance(method, SendMessage):
            self.replies.append(method.text)
            return Message(
                message_id=next(self._ids),
                date=datetime.now(),
                chat=Chat(id=int(method.chat_id), type="private"),
                text=method.text,
            )
        return await super().__call__(method, request_timeout)


class LocaleMiddleware:
    """Puts the user's locale and a services marker into the data, as the runtime's middleware does."""

    def __init__(self, locales: dict[int, str], services: Any = None) -> None:
        self.locales = locales
        self.services = services

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        if user is not None and user.id in self.locales:
            data[LOCALE_KEY] = self.locales[user.id]
        data[SERVICES_KEY] = self.services
        return await handler(event, data)


def catalog(extra: Mapping[str, Mapping[str, str]] | None = None, default: str = "en") -> TextCatalog:
    texts = {loc: dict(keys) for loc, keys in BASE_TEXTS.items()}
    for loc, keys in (extra or {}).items():
        texts.setdefault(loc, {}).update(keys)
    return TextCatalog(texts, default)


class _Yaml12Bools(yaml.SafeLoader):
    """YAML 1.1 reads the key ``on:`` as True; flows.yaml means the word, as YAML 1.2 does."""


_Yaml12Bools.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Bools.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_flows(source: str) -> Flows:
    """Flows from YAML text, without the loader and validator the app uses (tests of the engine alone)."""
    return Flows.model_validate(yaml.load(source, Loader=_Yaml12Bools))


class Bot:
    """One Dispatcher built from flows YAML, and one user talking to it."""

    def __init__(
        self,
        flows: Flows,
        hooks: FakeHooks,
        texts: TextCatalog,
        redis_url: str,
        *,
        base_dir: Path,
        user_id: int = 1,
        services: Any = None,
        locale_on_update: bool = True,
        admins: frozenset[int] = frozenset(),
    ) -> None:
        self.storage = RedisStorage(
            Redis.from_url(redis_url), key_builder=DefaultKeyBuilder(with_destiny=True)
        )
        isolation = self.storage.create_isolation()
        self.dp = Dispatcher(storage=self.storage, events_isolation=isolation)
        self.locales: dict[int, str] = {}
        locale_middleware = LocaleMiddleware(self.locales, services)
        if locale_on_update:
            self.dp.update.outer_middleware(locale_middleware)
        else:  # as the app does: the error event of an update never sees what these set
            self.dp.message.outer_middleware(locale_middleware)
            self.dp.callback_query.outer_middleware(locale_middleware)
        self.mm = MockMessageManager()
        self.compiled: CompiledFlows = compile_flows(
            flows, hooks.registry, texts, base_dir=base_dir, is_admin=admins.__contains__
        )
        attach_flows(self.dp, self.compiled, texts, events_isolation=isolation, message_manager=self.mm)
        self.bot = RecordingBot()
        self.client = BotClient(self.dp, user_id=user_id, chat_id=user_id, bot=self.bot)
        self._message_ids = itertools.count(1000)

    async def close(self) -> None:
        await self.storage.close()

    # --- what the user does ----------------------------------------------------------------------------

    async def send(self, text: str) -> None:
        await self.client.send(text)

    async def send_message(self, **content: Any) -> None:
        """Send a message with any content (video=, document=, sticker=, photo= …)."""
        message = Message(
            message_id=next(self._message_ids),
            date=datetime.now(),
            chat=self.client.chat,
            from_user=self.client.user,
            **content,
        )
        await self.dp.feed_update(self.bot, Update(update_id=next(self._message_ids), message=message))

    async def click(self, text: str, message: Message | None = None) -> str:
        """Tap the button whose text is exactly ``text`` on ``message`` (default: the last window shown)."""
        return await self.client.click(message or self.last, InlineButtonTextLocator(re.escape(text)))

    async def dialog_stack(self) -> list[str]:
        """Intent ids of the user's dialog stack as saved in Redis, bottom first."""
        chat = self.client.chat.id
        key = StorageKey(
            bot_id=self.bot.id, chat_id=chat, user_id=chat, destiny=f"aiogd:stack:{DEFAULT_STACK_ID}"
        )
        data = await self.storage.get_data(key)
        return list(data.get("intents", []))

    async def current_state(self) -> str | None:
        """The saved state of the dialog on top of the user's stack, e.g. ``"main:menu"``."""
        stack = await self.dialog_stack()
        if not stack:
            return None
        chat = self.client.chat.id
        key = StorageKey(bot_id=self.bot.id, chat_id=chat, user_id=chat, destiny=f"aiogd:context:{stack[-1]}")
        state = (await self.storage.get_data(key)).get("state")
        return state if isinstance(state, str) else None

    # --- what the user sees ----------------------------------------------------------------------------

    @property
    def windows(self) -> list[Message]:
        """Messages the dialog showed, without aiogram-dialog's keyboard-removal stubs."""
        return [m for m in self.mm.sent_messages if m.text is not None or m.caption is not None]

    @property
    def last(self) -> Message:
        return self.windows[-1]

    @property
    def text(self) -> str:
        last = self.last
        return last.text if last.text is not None else last.caption or ""

    @property
    def buttons(self) -> list[list[str]]:
        markup = self.last.reply_markup
        if markup is None or not hasattr(markup, "inline_keyboard"):
            return []
        return [[b.text for b in row] for row in markup.inline_keyboard]

    @property
    def flat_buttons(self) -> list[str]:
        return [b for row in self.buttons for b in row]
