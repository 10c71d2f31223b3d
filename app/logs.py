"""Structured logs: structlog, with stdlib logging (aiogram, aiohttp…) routed through it; secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Literal, TextIO
from urllib.parse import urlsplit, urlunsplit

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "<redacted>"
# Bot API URLs carry the token in their path: /bot<id>:<secret>/method (the colon may be percent-encoded).
BOT_TOKEN_IN_URL = re.compile(r"bot[0-9]+(?::|%3[Aa])[A-Za-z0-9_-]+")
# A BotFather token anywhere else: a bot id, a colon and a 35-character secret.
BARE_BOT_TOKEN = re.compile(r"\b[0-9]{5,}:[A-Za-z0-9_-]{30,}")
# Secrets this short would redact ordinary words; real tokens and webhook secrets are far longer.
MIN_SECRET_LENGTH = 6

LogFormat = Literal["console", "json"]


class Redactor:
    """Removes known secrets and anything shaped like a Bot API token URL from rendered log lines."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = BOT_TOKEN_IN_URL.sub("bot" + REDACTED, text)
        text = BARE_BOT_TOKEN.sub(REDACTED, text)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class _RedactingRenderer:
    """Wraps the final renderer so nothing reaches the output unredacted — tracebacks included."""

    def __init__(self, renderer: Processor, redactor: Redactor) -> None:
        self._renderer = renderer
        self._redactor = redactor

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        rendered = self._renderer(logger, name, event_dict)
        text = rendered.decode() if isinstance(rendered, bytes) else str(rendered)
        return self._redactor(text)


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for start-up logs and /health."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def setup_logging(
    *,
    fmt: LogFormat,
    level: str = "INFO",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Configure structlog and the stdlib root logger; calling it again replaces the previous setup."""
    redactor = Redactor(secrets)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        # Frame locals could hold secrets in shapes no pattern knows (a truncated repr), so they stay out.
        no_locals = ExceptionDictTransformer(show_locals=False)
        shared = [*shared, structlog.processors.ExceptionRenderer(no_locals)]
    else:
        plain = structlog.dev.plain_traceback
        renderer = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=plain)

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _RedactingRenderer(renderer, redactor),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # aiohttp's access log repeats every webhook POST and health probe; keep it for debugging only.
    logging.getLogger("aiohttp.access").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    logging.captureWarnings(True)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger named like a stdlib one, so both kinds share levels and handlers."""
    return structlog.stdlib.get_logger(name)
