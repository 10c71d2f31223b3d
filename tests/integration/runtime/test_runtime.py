"""The whole runtime from settings: real flows.yaml, SQLite, Redis, against a fake Bot API on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiogram.types import Update
from redis.asyncio import Redis

from app.bootstrap import StartupError, build_runtime
from app.config import Settings, load_settings
from tests.conftest import ROOT
from tests.integration.runtime.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-runtime-token"


def settings_for(api: FakeBotApi, tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.url,
            "DATA_DIR": str(tmp_path / "var"),
            "FLOWS_PATH": str(ROOT / "flows.yaml"),
            **env,
        }
    )


def start_update(update_id: int = 1, user_id: int = 501, text: str = "/start") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_790_000_000,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Anna", "language_code": "ru"},
            "text": text,
        },
    }


def button_texts(markup: dict[str, Any]) -> list[str]:
    return [button["text"] for row in markup["inline_keyboard"] for button in row]


async def test_start_through_the_whole_runtime_sends_the_menu(
    api: FakeBotApi, tmp_path: Path, redis: Redis, redis_url: str, migrated_sqlite: str
) -> None:
    settings = settings_for(api, tmp_path, REDIS_URL=redis_url, DATABASE_URL=migrated_sqlite)
    async with build_runtime(settings, configure_logs=False) as runtime:
        await runtime.startup()
        update = Update.model_validate(start_update(), context={"bot": runtime.bot})
        await runtime.dispatcher.feed_update(runtime.bot, update)

        [sent] = api.called("sendMessage")
        assert sent.params["chat_id"] == "501"
        assert "Anna" in sent.params["text"] and "50" in sent.params["text"]  # the welcome bonus is shown
        assert "🎬 Создать видео" in button_texts(sent.params["reply_markup"])
        # The dialog state is in Redis under aiogram-dialog's keys, so it survives a restart of the bot.
        assert await redis.keys("fsm:*")


async def test_startup_sets_the_command_menu_per_locale(
    api: FakeBotApi, tmp_path: Path, redis: Redis, redis_url: str, migrated_sqlite: str
) -> None:
    settings = settings_for(api, tmp_path, REDIS_URL=redis_url, DATABASE_URL=migrated_sqlite)
    async with build_runtime(settings, configure_logs=False) as runtime:
        await runtime.startup()
    calls = api.called("setMyCommands")
    by_language = {c.params.get("language_code"): c.params["commands"] for c in calls}
    assert set(by_language) == {None, "en"}  # ru is the default for everyone; en for English clients
    assert {c["command"] for c in by_language[None]} >= {"start", "menu", "help", "cancel", "create"}
    assert by_language[None] != by_language["en"]


async def test_an_unmigrated_database_stops_the_start_with_what_to_run(
    api: FakeBotApi, tmp_path: Path, redis: Redis, redis_url: str
) -> None:
    settings = settings_for(
        api, tmp_path, REDIS_URL=redis_url, DATABASE_URL=f"sqlite://{tmp_path}/empty.sqlite3"
    )
    with pytest.raises(StartupError, match=r"DATABASE_URL: .*python -m app migrate"):
        async with build_runtime(settings, configure_logs=False):
            pass


async def test_an_unreachable_redis_url_stops_the_start_naming_it(
    api: FakeBotApi, tmp_path: Path, migrated_sqlite: str
) -> None:
    from tests.support.servers import free_port

    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    settings = settings_for(api, tmp_path, REDIS_URL=url, DATABASE_URL=migrated_sqlite)
    with pytest.raises(StartupError) as caught:
        async with build_runtime(settings, configure_logs=False):
            pass
    assert str(caught.value).startswith("REDIS_URL: cannot reach Redis")
    assert "hunter2" not in str(caught.value)


async def test_a_broken_flows_file_stops_the_start_before_anything_runs(
    api: FakeBotApi, tmp_path: Path, migrated_sqlite: str
) -> None:
    from dialogs.errors import FlowErrors

    flows = tmp_path / "flows.yaml"
    flows.write_text(
        (ROOT / "flows.yaml").read_text(encoding="utf-8").replace("start: main.menu", "start: main.nowhere"),
        encoding="utf-8",
    )
    (tmp_path / "catalog").symlink_to(ROOT / "catalog")
    settings = settings_for(api, tmp_path, FLOWS_PATH=str(flows), DATABASE_URL=migrated_sqlite)
    with pytest.raises(FlowErrors) as caught:
        async with build_runtime(settings, configure_logs=False):
            pass
    assert f"{flows}:" in str(caught.value)
    assert not (tmp_path / "var" / "redis").exists(), "no redis-server is started for a broken flow"


async def test_background_dialog_updates_get_the_users_locale(
    api: FakeBotApi, tmp_path: Path, redis: Redis, redis_url: str, migrated_sqlite: str
) -> None:
    settings = settings_for(api, tmp_path, REDIS_URL=redis_url, DATABASE_URL=migrated_sqlite)
    async with build_runtime(settings, configure_logs=False) as runtime:
        await runtime.startup()
        english = start_update()
        english["message"]["from"]["language_code"] = "en"
        await runtime.dispatcher.feed_update(
            runtime.bot, Update.model_validate(english, context={"bot": runtime.bot})
        )
        bg = runtime.bg_manager_factory.bg(runtime.bot, 501, 501)
        await bg.update({})
        [edited] = await api.wait_for("editMessageText")
        assert "🎬 Create video" in button_texts(edited.params["reply_markup"])
