"""Logs: secrets never reach the output; aiogram's stdlib logs share the pipeline; context is bound."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from aiohttp import ClientResponseError, RequestInfo
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from app.logs import LogFormat, Redactor, get_logger, mask_url, setup_logging

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "webhook_Secret-value"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    structlog.reset_defaults()


def _aiohttp_error() -> ClientResponseError:
    """The error aiohttp raises for a bad status; its text carries the full request URL, token included."""
    url = URL(f"https://api.telegram.org/bot{TOKEN}/getMe")
    info = RequestInfo(url, "POST", CIMultiDictProxy(CIMultiDict()), url)
    return ClientResponseError(info, (), status=502, message="Bad Gateway")


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_token_never_appears_even_when_aiogram_logs_a_url(output: io.StringIO, fmt: LogFormat) -> None:
    setup_logging(fmt=fmt, level="DEBUG", secrets=[TOKEN, SECRET], stream=output)
    aiogram_log = logging.getLogger("aiogram.event")
    aiogram_log.warning("Failed to fetch updates - %s", f"https://api.telegram.org/bot{TOKEN}/getUpdates")
    try:
        raise _aiohttp_error()
    except ClientResponseError:
        aiogram_log.exception("Cause exception while process update")
    get_logger("app.test").info("setting webhook", secret=SECRET, token=TOKEN)

    text = output.getvalue()
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert SECRET not in text
    assert "Failed to fetch updates" in text and "Bad Gateway" in text
    assert "bot<redacted>/getUpdates" in text


def test_unknown_tokens_in_urls_are_redacted_too() -> None:
    redact = Redactor()
    assert (
        redact("GET https://x/bot987:OTHER_token-1/sendMessage") == "GET https://x/bot<redacted>/sendMessage"
    )
    assert redact("bot987%3AOTHER/getMe") == "bot<redacted>/getMe"
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in redact(f"token={TOKEN}")


def test_short_secrets_do_not_blank_ordinary_words() -> None:
    assert Redactor(["ok"])("everything is ok") == "everything is ok"


def test_json_lines_carry_update_and_user_context(output: io.StringIO) -> None:
    setup_logging(fmt="json", level="INFO", stream=output)
    with structlog.contextvars.bound_contextvars(update_id=77, user_id=501):
        get_logger("app.test").info("clicked", button="menu.create")
        logging.getLogger("aiogram.event").info("Update id=77 is handled")
    records = [json.loads(line) for line in output.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["clicked", "Update id=77 is handled"]
    assert all(r["update_id"] == 77 and r["user_id"] == 501 for r in records)
    assert records[0]["button"] == "menu.create" and records[1]["logger"] == "aiogram.event"


def test_level_filters_both_kinds_of_logger(output: io.StringIO) -> None:
    setup_logging(fmt="console", level="WARNING", stream=output)
    get_logger("app.test").info("quiet")
    logging.getLogger("aiogram").info("quiet too")
    get_logger("app.test").warning("loud")
    assert "quiet" not in output.getvalue() and "loud" in output.getvalue()


def test_exception_locals_stay_out_of_json_logs(output: io.StringIO) -> None:
    setup_logging(fmt="json", level="INFO", stream=output)
    truncated_secret = TOKEN[:20]  # a repr cut short would slip past every pattern
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("app.test").exception("failed", note="x")
    assert truncated_secret not in output.getvalue()
    assert "boom" in output.getvalue()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@redis.internal:6379/0", "redis://:***@redis.internal:6379/0"),
        ("postgres://bot:hunter2@db/ugc", "postgres://bot:***@db/ugc"),
        ("sqlite://var/ugcbot.sqlite3", "sqlite://var/ugcbot.sqlite3"),
        ("unix:///srv/var/redis/redis.sock", "unix:///srv/var/redis/redis.sock"),
    ],
)
def test_mask_url_hides_passwords_only(url: str, shown: str) -> None:
    assert mask_url(url) == shown
