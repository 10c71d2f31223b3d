"""Tortoise configuration from a database URL, start-up, shutdown and a health check."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connections

APP = "models"
# aerich.models keeps the table of applied migrations; it must live in the same app as our models.
MODEL_MODULES: tuple[str, ...] = ("app.db.models", "aerich.models")
# The bot and the worker share one SQLite file: wait for the other's write lock instead of failing at once.
SQLITE_BUSY_TIMEOUT_MS = 5000

Dialect = Literal["sqlite", "postgres"]


class DatabaseUrlError(ValueError):
    """A database URL this project cannot use."""


def dialect_of(database_url: str) -> Dialect:
    """``sqlite`` or ``postgres`` for a URL, raising for anything else."""
    scheme = database_url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in {"postgres", "postgresql", "asyncpg"}:
        return "postgres"
    raise DatabaseUrlError(f"unsupported database URL scheme {scheme!r}: use sqlite:// or postgres://")


def redact_url(database_url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    parts = urlsplit(database_url)
    if parts.password is None:
        return database_url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def tortoise_config(database_url: str, models: tuple[str, ...] = MODEL_MODULES) -> dict[str, Any]:
    """The Tortoise config dict for ``database_url``; creates the folder of a SQLite file."""
    dialect = dialect_of(database_url)
    connection = expand_db_url(database_url)
    credentials: dict[str, Any] = connection["credentials"]
    if dialect == "sqlite":
        credentials.setdefault("busy_timeout", SQLITE_BUSY_TIMEOUT_MS)
        file_path = str(credentials["file_path"])
        if file_path != ":memory:":
            Path(file_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # The connection is named after its dialect because Tortoise caches prepared SQL per connection name for
    # the life of the process: a process opening SQLite, then PostgreSQL under one name reuses SQLite's SQL.
    return {
        "connections": {dialect: connection},
        "apps": {APP: {"models": list(models), "default_connection": dialect}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(database_url: str) -> None:
    """Open the database for this task and the tasks it starts later (Tortoise keeps it in a context var)."""
    await Tortoise.init(config=tortoise_config(database_url))


async def close_db() -> None:
    await Tortoise.close_connections()


async def check_db() -> bool:
    """True when the database answers a trivial query; for ``/health``."""
    try:
        await connection().execute_query("SELECT 1")
    except Exception:  # any failure means "unhealthy"; the caller only reports it
        return False
    return True


def connection() -> BaseDBAsyncClient:
    """The one connection opened by :func:`init_db` (named after its dialect)."""
    handler = get_connections()
    names = list(handler.db_config)
    if len(names) != 1:
        raise RuntimeError(f"expected one database connection, found {names}")
    return handler.get(names[0])
