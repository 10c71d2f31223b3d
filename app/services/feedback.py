"""Feedback (U15): a user's text or photo goes to the admins' chat with who sent it; an admin's reply to that
message goes back to the user. The link between the two is a row per forwarded message."""

from __future__ import annotations

import html
from typing import Any, Protocol

from app.db.models import FeedbackMessage, User
from app.logs import get_logger
from app.services.clock import Clock
from dialogs.i18n import TextCatalog

log = get_logger(__name__)

MAX_TEXT = 3500  # leaves room for the header within Telegram's 4096 characters


class FeedbackUnavailable(Exception):  # noqa: N818  (reads as the situation)
    """No admin chat is configured, or it could not be reached."""


class Messenger(Protocol):
    """The Bot API calls feedback needs (aiogram's Bot has them)."""

    async def send_message(self, chat_id: int, text: str, *, parse_mode: str = ...) -> Any: ...

    async def send_photo(
        self, chat_id: int, photo: str, *, caption: str = ..., parse_mode: str = ...
    ) -> Any: ...


class FeedbackDesk:
    def __init__(self, bot: Messenger, chat_id: int | None, clock: Clock, texts: TextCatalog) -> None:
        self._texts = texts
        self._bot = bot
        self._chat_id = chat_id
        self._clock = clock

    @property
    def chat_id(self) -> int | None:
        return self._chat_id

    async def forward(
        self,
        *,
        user_id: int,
        name: str,
        username: str | None,
        text: str | None,
        photo_file_id: str | None = None,
    ) -> None:
        """Send the user's message to the admin chat; FeedbackUnavailable when it cannot get there."""
        if self._chat_id is None:
            raise FeedbackUnavailable("ADMIN_FEEDBACK_CHAT_ID is not set")
        who = f'<a href="tg://user?id={user_id}">{html.escape(name or str(user_id))}</a>'
        handle = f" @{html.escape(username)}" if username else ""
        header = self._texts.render(
            await self.admin_locale(self._chat_id),
            "feedback.admin_header",
            {"who": who, "handle": handle, "id": user_id},
        )
        body = html.escape((text or "")[:MAX_TEXT])
        try:
            if photo_file_id is not None:
                sent = await self._bot.send_photo(
                    self._chat_id, photo_file_id, caption=f"{header}\n\n{body}"[:1024], parse_mode="HTML"
                )
            else:
                sent = await self._bot.send_message(self._chat_id, f"{header}\n\n{body}", parse_mode="HTML")
        except Exception as exc:  # any failure to reach the admins is the same to the user
            log.warning("feedback not delivered to the admin chat", user_id=user_id, error=str(exc))
            raise FeedbackUnavailable(str(exc)) from exc
        await FeedbackMessage.create(
            user_id=user_id,
            admin_chat_id=self._chat_id,
            admin_message_id=sent.message_id,
            created_at=self._clock.now(),
        )
        log.info("feedback forwarded", user_id=user_id, admin_message_id=sent.message_id)

    async def admin_locale(self, chat_id: int) -> str:
        """The language the admins read: an admin's own (a private chat), else the bot's default (a group)."""
        row = await User.filter(id=chat_id).first()
        return row.locale if row is not None else self._texts.default_locale

    async def author_of(self, chat_id: int, message_id: int) -> int | None:
        """The user whose feedback the admin message ``message_id`` in ``chat_id`` is, if it is one."""
        row = await FeedbackMessage.filter(admin_chat_id=chat_id, admin_message_id=message_id).first()
        return None if row is None else row.user_id
