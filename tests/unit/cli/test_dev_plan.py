"""`make run` (python -m app dev): which processes start, and where the person is told to chat."""

from __future__ import annotations

from app.cli.dev import LOCAL_TOKEN, plan


def test_without_a_token_the_bot_talks_to_the_local_telegram_and_the_person_gets_a_link() -> None:
    children, banner = plan({"PATH": "/usr/bin"}, "127.0.0.1", 8099)

    assert [c.name for c in children] == ["local-telegram", "bot"]
    assert banner == "Open http://127.0.0.1:8099 to chat with the bot"
    bot = children[-1]
    assert bot.env["TELEGRAM_API_URL"] == "http://127.0.0.1:8099"
    assert bot.env["TELEGRAM_BOT_TOKEN"] == children[0].env["LOCAL_TELEGRAM_TOKEN"] == LOCAL_TOKEN
    assert "--port" in children[0].argv and "8099" in children[0].argv


def test_with_a_token_only_the_bot_runs_and_talks_to_telegram() -> None:
    children, banner = plan({"TELEGRAM_BOT_TOKEN": "42:real"}, "127.0.0.1", 8081)

    assert [c.name for c in children] == ["bot"]
    assert banner is None
    assert "TELEGRAM_API_URL" not in children[0].env
    assert children[0].env["TELEGRAM_BOT_TOKEN"] == "42:real"
