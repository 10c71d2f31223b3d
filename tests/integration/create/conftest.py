"""The whole bot in the test's event loop — real flows.yaml, hooks, SQLite, Redis, local providers — polling
the local Telegram stand-in, and chats with it driven through the stand-in's control API."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiogram.types import Update
from redis.asyncio import Redis

from app.bootstrap import Runtime, build_runtime
from app.config import Settings, load_settings
from app.db.migrations import apply_migrations
from app.telegram.serving import serve
from tests.conftest import ROOT
from tests.integration.create.chat import Chat
from tests.integration.create.media import Media, make_media
from tests.support.localtg import ControlClient, RunningServer, local_telegram_server
from tests.support.servers import free_port

USER = 7101


@dataclass
class RunningBot:
    runtime: Runtime
    tg: ControlClient
    server: RunningServer
    context: contextvars.Context
    _forged: int = 0

    async def chat(self, user_id: int = USER, *, language: str = "en", first_name: str = "Tess") -> Chat:
        """A new user who has sent /start and sees the main menu."""
        await self.tg.create_user(user_id, first_name, language_code=language)
        chat = Chat(self.tg, user_id)
        await chat.say("/start", "UGC Bot")
        return chat

    async def jobs_done(self, within: float = 90.0) -> None:
        """Until every generation is delivered or failed (the in-process arq worker renders them)."""
        deadline = asyncio.get_running_loop().time() + within
        while await self._in_context(self.runtime.services.generations.unfinished()):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"generations still unfinished after {within} s")
            await asyncio.sleep(0.05)

    async def _in_context(self, coro: Awaitable[Any]) -> Any:
        # The database connections live in the bot task's context.
        return await asyncio.create_task(_awaited(coro), context=self.context)

    async def forge_message(self, user_id: int, **content: Any) -> None:
        """A message the stand-in's control API cannot make (a sticker, blank text), straight to the bot."""
        chat = self.server.server.state.chats[user_id]
        self._forged += 1
        message = {
            "message_id": 800_000_000 + self._forged,
            "from": chat.user.telegram(),
            "chat": chat.user.chat(),
            "date": 1_795_000_000,
            **content,
        }
        update = Update.model_validate(
            {"update_id": 900_000_000 + self._forged, "message": message}, context={"bot": self.runtime.bot}
        )
        await self._feed(update)

    async def _feed(self, update: Update) -> None:
        # Run where the bot's own updates run: the database connections live in that task's context.
        feed = self.runtime.dispatcher.feed_update(self.runtime.bot, update)
        await asyncio.create_task(feed, context=self.context)

    async def forge_click(self, user_id: int, message_id: int, data: str) -> None:
        """A callback query with ``data`` on a message, as a modified client can send: Telegram does not check
        callback data against the keyboard (the stand-in's control API does, so this skips it)."""
        state = self.server.server.state
        chat = state.chats[user_id]
        message = chat.messages[message_id].telegram(self.server.server.api.bot_user(), chat.user)
        self._forged += 1
        update = Update.model_validate(
            {
                "update_id": 900_000_000 + self._forged,
                "callback_query": {
                    "id": f"forged-{self._forged}",
                    "from": chat.user.telegram(),
                    "message": message,
                    "chat_instance": chat.chat_instance,
                    "data": data,
                },
            },
            context={"bot": self.runtime.bot},
        )
        await self._feed(update)


async def _awaited(coro: Awaitable[Any]) -> Any:
    return await coro


BotStarter = Callable[..., Awaitable[RunningBot]]


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The runtime configures process-wide logging; give the next test pytest's own setup back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return make_media(tmp_path_factory.mktemp("create-media"))


class _BotTask:
    """Builds, serves and closes one runtime inside one task: Tortoise's connections and the job queue's
    task group belong to the task that opened them; a teardown in another task cannot close them."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._ready: asyncio.Future[tuple[Runtime, contextvars.Context]] = (
            asyncio.get_running_loop().create_future()
        )
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._main(), name="bot-under-test")

    async def _main(self) -> None:
        try:
            async with build_runtime(self._settings, configure_logs=False) as runtime:
                serving = asyncio.create_task(serve(runtime, self._stop))
                self._ready.set_result((runtime, contextvars.copy_context()))
                await self._stop.wait()
                await serving
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    async def started(self) -> tuple[Runtime, contextvars.Context]:
        return await self._ready

    async def stop(self) -> None:
        self._stop.set()
        await self._task


@pytest.fixture
async def start_bot(tmp_path: Path, redis_url: str, redis: Redis) -> AsyncIterator[BotStarter]:
    """Starts the bot (again: ``start_bot()`` stops the running one); same DB, Redis and local Telegram."""
    database = f"sqlite://{tmp_path}/bot.sqlite3"
    await apply_migrations(database)
    async with AsyncExitStack() as outer:
        server = await outer.enter_async_context(local_telegram_server())
        tg = await outer.enter_async_context(ControlClient(server.url, wait_timeout=30))
        current: list[_BotTask] = []

        async def start(**env: str) -> RunningBot:
            if current:
                await current.pop().stop()
            settings = load_settings(
                {
                    "TELEGRAM_BOT_TOKEN": server.token,
                    "TELEGRAM_API_URL": server.url,
                    "REDIS_URL": redis_url,
                    "DATABASE_URL": database,
                    "DATA_DIR": str(tmp_path / "var"),
                    "FLOWS_PATH": str(ROOT / "flows.yaml"),
                    "WEB_PORT": str(free_port()),
                    "WELCOME_BONUS": "50",
                    "RUN_WORKER": "true",
                    "PROVIDER_POLL_SECONDS": "0.2",
                    "WORKER_POLL_SECONDS": "0.2",
                    **env,
                }
            )
            task = _BotTask(settings)
            current.append(task)
            runtime, context = await task.started()
            return RunningBot(runtime, tg, server, context)

        try:
            yield start
        finally:
            if current:
                await current.pop().stop()


@pytest.fixture
async def bot(start_bot: BotStarter) -> RunningBot:
    return await start_bot()
