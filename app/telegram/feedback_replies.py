"""Admins answer feedback by replying to the forwarded message in the feedback chat; the answer goes to the
user who wrote, in their language (plain text: the bot sets no parse mode), and the admin is told it was
delivered (or why not)."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.types import Message

from app.logs import get_logger
from app.services.feedback import FeedbackDesk
from app.services.users import UserService
from dialogs.i18n import TextCatalog

log = get_logger(__name__)


class _ReplyToFeedback(Filter):
    """A reply, in the feedback chat, to a message that forwarded a user's feedback."""

    def __init__(self, desk: FeedbackDesk) -> None:
        self._desk = desk

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        replied = message.reply_to_message
        if replied is None or message.chat.id != self._desk.chat_id:
            return False
        author = await self._desk.author_of(message.chat.id, replied.message_id)
        return False if author is None else {"feedback_author": author}


def feedback_replies_router(desk: FeedbackDesk, users: UserService, texts: TextCatalog) -> Router:
    router = Router(name="feedback-replies")

    @router.message(_ReplyToFeedback(desk))
    async def answer(message: Message, bot: Bot, feedback_author: int) -> None:
        user = await users.get(feedback_author)
        locale = user.locale if user is not None else texts.default_locale
        admin_locale = await desk.admin_locale(message.chat.id)
        try:
            if message.photo:
                caption = texts.render(locale, "feedback.reply", {"text": message.caption or ""})
                await bot.send_photo(feedback_author, message.photo[-1].file_id, caption=caption[:1024])
            else:
                text = texts.render(locale, "feedback.reply", {"text": message.text or ""})
                await bot.send_message(feedback_author, text[:4096])
        except TelegramAPIError as exc:
            log.warning("feedback answer not delivered", user_id=feedback_author, error=str(exc))
            why = str(exc.message)
            await message.reply(texts.render(admin_locale, "feedback.not_delivered", {"why": why}))
            return
        log.info(
            "feedback answered", user_id=feedback_author, admin_id=message.from_user and message.from_user.id
        )
        await message.reply(texts.render(admin_locale, "feedback.delivered", {}))

    return router
