"""The Bot factory: one aiohttp session pointed at the configured Bot API server, with outbound retries."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from app.config import ConfigError, Settings
from app.telegram.retry import RetryMiddleware, RetryPolicy


def create_bot(settings: Settings, *, retry: RetryPolicy | None = None) -> Bot:
    """A Bot for ``settings``; the caller owns it and closes ``bot.session``."""
    if settings.telegram_bot_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN: not set")
    # is_local=False even for the local stand-in: files are fetched over HTTP, never from the server's disk.
    api = TelegramAPIServer.from_base(settings.telegram_api_url, is_local=False)
    session = AiohttpSession(api=api)
    session.middleware(RetryMiddleware(retry))
    # No default parse mode: texts come from editors' YAML and must never be read as HTML by accident.
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=None),
    )
