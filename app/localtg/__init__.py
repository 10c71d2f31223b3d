"""A local stand-in for Telegram's Bot API with a control API and a web chat; the bot never imports it."""

from app.localtg.server import SERVER_KEY, LocalTelegram, create_app, run, serve
from app.localtg.settings import Limits, Settings

__all__ = ["SERVER_KEY", "Limits", "LocalTelegram", "Settings", "create_app", "run", "serve"]
