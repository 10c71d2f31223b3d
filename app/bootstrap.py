"""The composition root: builds every collaborator of one bot process, in one place and one order."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from aerich.models import Aerich
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from aiogram_dialog import BgManagerFactory
from aiogram_dialog.api.entities import DIALOG_EVENT_NAME
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.exceptions import OperationalError

from app.config import Settings
from app.db.migrations import migration_files
from app.db.setup import APP as DB_APP
from app.db.setup import DatabaseUrlError, check_db, close_db, init_db
from app.fsm.embedded import EmbeddedRedis, EmbeddedRedisError
from app.fsm.storage import build_storage
from app.jobs.delivery import PROGRESS_WINDOW, RESULT_WINDOW, DialogDelivery
from app.jobs.pipeline import Pipeline
from app.jobs.queue import LocalJobQueue
from app.logs import get_logger, mask_url, setup_logging
from app.services.catalog import Catalog
from app.services.container import Services, build_services
from app.services.faq import FaqCatalog
from app.services.image.local import LocalImageEditor
from app.services.pricing import load_pricing
from app.services.speech.local import LocalSpeech
from app.services.storage.local import LocalStorage
from app.services.video.local import LocalVideoMaker
from app.telegram import InFlightUpdates, LogContextMiddleware, UserContextMiddleware, create_bot
from app.telegram.media_ids import RedisMediaIdStorage
from app.telegram.middlewares import BackgroundUserMiddleware
from app.web import HealthCheck
from dialogs.attach import attach_flows
from dialogs.compile import CompiledFlows, compile_flows
from dialogs.flowfile import load_validated
from dialogs.hooks import build_registry
from dialogs.i18n import TextCatalog
from dialogs.registry import SERVICES_KEY

log = get_logger(__name__)

# Editable catalogs live next to flows.yaml, so a checkout (or a test copy of the flow) is self-contained.
FAQ_FILE = "catalog/faq.yaml"
CATALOG_DIR = "catalog"
PRICING_FILE = "catalog/pricing.yaml"
# How long closing the runtime waits for updates in progress before closing what they use.
DRAIN_SECONDS = 10.0


class StartupError(RuntimeError):
    """A dependency the bot needs is unusable; the message tells the operator which variable to look at."""


@dataclass
class Runtime:
    """One bot process's collaborators; built by :func:`build_runtime`, which also closes them."""

    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    redis: Redis
    redis_label: str
    storage: RedisStorage
    isolation: BaseEventIsolation
    services: Services
    texts: TextCatalog
    compiled: CompiledFlows
    bg_manager_factory: BgManagerFactory
    in_flight: InFlightUpdates
    jobs: LocalJobQueue
    media_ids: RedisMediaIdStorage
    webhook_secret: str | None = None
    webhook_secret_generated: bool = False
    _started: bool = field(default=False, repr=False)

    def health_checks(self) -> dict[str, HealthCheck]:
        """What ``/health`` probes: the database and Redis."""

        async def redis_ok() -> bool:
            return bool(await self.redis.ping())

        return {"db": check_db, "redis": redis_ok}

    def allowed_updates(self) -> list[str]:
        """The update types some handler listens to, for getUpdates and setWebhook."""
        # aiogram-dialog's background updates are made in-process; Telegram has no such update type.
        return self.dispatcher.resolve_used_update_types(skip_events={DIALOG_EVENT_NAME})

    async def startup(self) -> None:
        """Run the Dispatcher's start-up handlers (dialogs, bot commands); start_polling runs them itself."""
        await self.dispatcher.emit_startup(
            bot=self.bot, bots=[self.bot], dispatcher=self.dispatcher, **self.dispatcher.workflow_data
        )
        self._started = True

    async def shutdown(self) -> None:
        """Run the Dispatcher's shutdown handlers if :meth:`startup` ran."""
        if self._started:
            self._started = False
            await self.dispatcher.emit_shutdown(
                bot=self.bot, bots=[self.bot], dispatcher=self.dispatcher, **self.dispatcher.workflow_data
            )

    async def drain(self, limit: float = DRAIN_SECONDS) -> None:
        """Wait (at most ``limit`` seconds) for updates still being handled."""
        if self.in_flight.count and not await self.in_flight.wait_idle(limit):
            log.warning("closing with updates still in progress", count=self.in_flight.count)

    async def set_commands(self) -> None:
        """The command menu in every locale: the default locale for everyone, the others by language_code."""
        for locale in self.texts.locales:
            commands = self.compiled.bot_commands(locale)
            language = None if locale == self.texts.default_locale else locale
            try:
                await self.bot.set_my_commands(commands, language_code=language)
            except TelegramUnauthorizedError:
                raise
            except TelegramAPIError as exc:
                # The menu is a convenience; a bot that cannot set it still serves users.
                log.warning("telegram: setMyCommands failed", locale=locale, error=str(exc))


@asynccontextmanager
async def build_runtime(settings: Settings, *, configure_logs: bool = True) -> AsyncIterator[Runtime]:
    """Build the runtime for ``settings`` and close everything it opened on exit, even after a failed start.

    Raises ``dialogs.errors.FlowErrors`` when flows.yaml or its texts are wrong and ``CatalogError`` when the
    catalog or pricing is (both before anything is started), :class:`StartupError` when Redis or the database
    cannot be used.
    """
    webhook_secret, generated = _webhook_secret(settings)
    if configure_logs:
        token = settings.telegram_bot_token
        setup_logging(
            fmt=settings.log_format,
            level=settings.log_level,
            secrets=[s for s in (token.get_secret_value() if token else None, webhook_secret) if s],
        )
    # Flows first: a typo in YAML must stop the start before any process or connection is opened.
    registry = build_registry()
    loaded, texts = load_validated(settings.flows_path, registry)
    root = settings.flows_path.parent
    faq = FaqCatalog.load(root / FAQ_FILE, texts.locales, texts.default_locale)
    # Absolute paths: aiogram-dialog keys uploaded files by path, and every process must name a file alike.
    catalog = Catalog.load((root / CATALOG_DIR).resolve(), texts.locales, texts.default_locale)
    pricing = load_pricing(root / PRICING_FILE)

    async with AsyncExitStack() as stack:
        redis, redis_label = await _open_redis(settings, stack)
        storage = build_storage(redis)
        isolation = storage.create_isolation()
        await _open_db(settings, stack)
        jobs = LocalJobQueue()
        storage_backend = LocalStorage(settings.storage_root)
        services = build_services(
            texts=texts,
            faq=faq,
            locales=texts.locales,
            welcome_bonus=settings.welcome_bonus,
            catalog=catalog,
            pricing=pricing,
            storage=storage_backend,
            speech=LocalSpeech(),
            image_editor=LocalImageEditor(),
            video_maker=LocalVideoMaker(),
            jobs=jobs,
            scratch_dir=settings.scratch_dir.resolve(),
        )
        bot = create_bot(settings)
        stack.push_async_callback(bot.session.close)
        # Uploaded photos, samples and videos are re-sent by file_id from any process sharing this Redis.
        media_ids = RedisMediaIdStorage(redis, namespace=str(bot.id))

        dispatcher = Dispatcher(storage=storage, events_isolation=isolation)
        dispatcher[SERVICES_KEY] = services
        in_flight = InFlightUpdates()
        user_context = UserContextMiddleware(services)
        # Middleware order, outermost first (after aiogram's own error, user-context and FSM middlewares):
        # in-flight tracking → log context → the user row, locale and services → aiogram-dialog's middlewares.
        dispatcher.update.outer_middleware(in_flight)
        dispatcher.update.outer_middleware(LogContextMiddleware())
        dispatcher.message.outer_middleware(user_context)
        dispatcher.callback_query.outer_middleware(user_context)
        # Recovery from stale buttons answers in the user's chosen language: errors need the locale too.
        dispatcher.errors.outer_middleware(user_context)
        compiled = compile_flows(loaded.flows, registry, texts, base_dir=settings.flows_path.parent)
        bg_manager_factory = attach_flows(
            dispatcher, compiled, texts, events_isolation=isolation, media_id_storage=media_ids
        )
        # Background dialog updates (BgManager) render windows too, so they need the locale as much as clicks.
        dispatcher.observers[DIALOG_EVENT_NAME].outer_middleware(BackgroundUserMiddleware(services))
        pipeline = Pipeline(
            generations=services.generations,
            catalog=catalog,
            storage=storage_backend,
            video_maker=services.video_maker,
            delivery=DialogDelivery(
                bot=bot,
                dialogs=bg_manager_factory,
                progress_state=_window_state(compiled, PROGRESS_WINDOW),
                result_state=_window_state(compiled, RESULT_WINDOW),
                media_ids=media_ids,
                storage=storage_backend,
                texts=texts,
            ),
            scratch_dir=settings.scratch_dir.resolve(),
        )

        runtime = Runtime(
            settings=settings,
            bot=bot,
            dispatcher=dispatcher,
            redis=redis,
            redis_label=redis_label,
            storage=storage,
            isolation=isolation,
            services=services,
            texts=texts,
            compiled=compiled,
            bg_manager_factory=bg_manager_factory,
            in_flight=in_flight,
            jobs=jobs,
            media_ids=media_ids,
            webhook_secret=webhook_secret,
            webhook_secret_generated=generated,
        )
        dispatcher.startup.register(runtime.set_commands)
        stack.push_async_callback(runtime.shutdown)
        # Renders run beside the updates; they stop after the updates drained (a last click may still queue
        # one) and before the session, database and Redis they use are closed.
        await stack.enter_async_context(jobs.running(pipeline.run))
        # Renders a stop or a crash interrupted start over: their inputs are stored, their credits still held.
        for generation_id in await services.generations.unfinished():
            await jobs.enqueue(generation_id)
        # Runs first on exit: updates still being handled (a click, a background dialog update) finish before
        # the session, database and Redis they use are closed.
        stack.push_async_callback(runtime.drain)
        yield runtime


def _window_state(compiled: CompiledFlows, window: tuple[str, str]) -> State:
    """The state of a window the runtime itself opens; a flows.yaml without it cannot run."""
    try:
        return compiled.state(*window)
    except KeyError:
        raise StartupError(f"flows.yaml has no window {'.'.join(window)}, which delivers videos") from None


def _webhook_secret(settings: Settings) -> tuple[str | None, bool]:
    if not settings.webhook_mode:
        return None, False
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value(), False
    # setWebhook runs at every start, so a fresh secret per run works for a single process.
    return secrets.token_urlsafe(32), True


async def _open_redis(settings: Settings, stack: AsyncExitStack) -> tuple[Redis, str]:
    if settings.redis_url is None:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        try:
            url = await embedded.start()
        except EmbeddedRedisError as exc:
            raise StartupError(f"REDIS_URL is not set and the embedded redis-server failed: {exc}") from None
        stack.push_async_callback(embedded.stop)
        label = f"embedded redis-server at {url}"
    else:
        url = settings.redis_url
        label = mask_url(url)
    redis = Redis.from_url(url)
    stack.push_async_callback(redis.aclose)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        raise StartupError(f"REDIS_URL: cannot reach Redis at {label}: {exc}") from None
    return redis, label


async def _open_db(settings: Settings, stack: AsyncExitStack) -> None:
    try:
        await init_db(settings.database_url)
    except DatabaseUrlError as exc:
        raise StartupError(f"DATABASE_URL: {exc}") from None
    stack.push_async_callback(close_db)
    where = mask_url(settings.database_url)
    if not await check_db():
        raise StartupError(f"DATABASE_URL: the database at {where} does not answer")
    missing = await _missing_migrations()
    if missing:
        raise StartupError(
            f"DATABASE_URL: the database at {where} lacks migrations {', '.join(missing)}: "
            "run `python -m app migrate` first (`make run` does it for you)"
        )


async def _missing_migrations() -> list[str]:
    """Migration files the database has not applied; a database without aerich's table has applied none."""
    try:
        rows = await Aerich.filter(app=DB_APP).values_list("version", flat=True)
        applied = {str(version) for version in rows}
    except OperationalError:
        applied = set()
    return [path.name for path in migration_files() if path.name not in applied]
