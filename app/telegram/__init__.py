"""Talking to Telegram: the Bot factory, outbound retries and update middlewares."""

from app.telegram.bot import create_bot
from app.telegram.middlewares import InFlightUpdates, LogContextMiddleware, UserContextMiddleware
from app.telegram.retry import IDEMPOTENT_METHODS, RetryMiddleware, RetryPolicy

__all__ = [
    "IDEMPOTENT_METHODS",
    "InFlightUpdates",
    "LogContextMiddleware",
    "RetryMiddleware",
    "RetryPolicy",
    "UserContextMiddleware",
    "create_bot",
]
