"""``OperatorAlerts`` over Telegram: a message to the admin chat (or every admin), at most one per topic per
interval across every process sharing Redis, so a revoked key does not flood the chat with one alert per
user who tried."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from app.logs import get_logger
from app.services.throttle import RedisThrottle

log = get_logger(__name__)

ALERT_INTERVAL = 15 * 60.0


class TelegramAlerts:
    def __init__(
        self, bot: Bot, chats: Sequence[int], throttle: RedisThrottle, *, interval: float = ALERT_INTERVAL
    ) -> None:
        self._bot = bot
        self._chats = tuple(chats)
        self._throttle = throttle
        self._interval = interval

    async def alert(self, topic: str, text: str) -> None:
        # Always in the log, where the operator's monitoring sees it even without an admin chat.
        log.error("operator alert", topic=topic, text=text)
        if not self._chats or not await self._throttle.allow(f"alert:{topic}", self._interval):
            return
        for chat in self._chats:
            try:
                await self._bot.send_message(chat, f"⚠️ {text}")
            except TelegramAPIError as exc:
                log.warning("operator alert not delivered", chat=chat, error=str(exc))
