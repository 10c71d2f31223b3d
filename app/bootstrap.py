"""The composition root: builds every collaborator of one bot process, in one place and one order."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aerich.models import Aerich
from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from aiogram_dialog import BgManagerFactory
from aiogram_dialog.api.entities import DIALOG_EVENT_NAME
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.exceptions import OperationalError

from app.config import Settings
from app.db.migrations import migration_files
from app.db.setup import APP as DB_APP
from app.db.setup import DatabaseUrlError, check_db, close_db, init_db
from app.fsm.embedded import EmbeddedRedis, EmbeddedRedisError
from app.fsm.storage import build_storage
from app.jobs.captions import StyledCaptioner, build_captioner
from app.jobs.delivery import PROGRESS_WINDOW, RESULT_WINDOW, DialogDelivery
from app.jobs.heartbeat import Heartbeats
from app.jobs.pipeline import Pipeline
from app.jobs.preview import DraftPreview
from app.jobs.queue import ArqJobQueue
from app.jobs.scheduled import DailySummary, Reaper, TempCleanup
from app.jobs.worker import WorkerConfig, WorkerParts, build_worker, worker_running
from app.logs import get_logger, mask_url, setup_logging
from app.services.catalog import Catalog
from app.services.container import Services, build_services
from app.services.fal.queue import FalQueueClient, new_http_client
from app.services.faq import FaqCatalog
from app.services.image.local import LocalImageEditor
from app.services.pricing import load_pricing
from app.services.providers import ObjectStorage, ProviderError, TalkingVideoMaker
from app.services.speech.local import LocalSpeech
from app.services.steps import StepLog
from app.services.storage.local import LocalStorage
from app.services.storage.s3 import S3Storage
from app.services.throttle import RedisThrottle
from app.services.video.compose import FfmpegCompositor
from app.services.video.local import LocalVideoMaker
from app.services.video.omnihuman import OmniHumanVideo
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
CAPTIONS_FILE = "catalog/captions.yaml"
# Days the object storage keeps draft uploads under tmp/ (a generation keeps its own copies).
TMP_DAYS = 7
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
    jobs: ArqJobQueue
    media_ids: RedisMediaIdStorage
    pipeline: Pipeline
    worker_parts: WorkerParts
    worker_config: WorkerConfig
    webhook_secret: str | None = None
    webhook_secret_generated: bool = False
    sets_commands: bool = True
    running_worker: Worker | None = None
    """False in worker-only processes: the bot's command menu is the bots' business."""
    _started: bool = field(default=False, repr=False)
    _worker_stack: AsyncExitStack | None = field(default=None, repr=False)

    async def start_worker(self) -> Worker:
        """Start this runtime's arq worker in the background (once); it needs :meth:`startup` to have run:
        aiogram-dialog loads its registry there, and the worker's background updates use it."""
        if self.running_worker is not None:
            return self.running_worker
        pool = ArqRedis(connection_pool=self.redis.connection_pool)
        worker = build_worker(pool, self.worker_parts, self.worker_config)
        stack = AsyncExitStack()
        self.running_worker = await stack.enter_async_context(
            worker_running(worker, self.worker_parts.heartbeats)
        )
        self._worker_stack = stack
        return self.running_worker

    async def stop_worker(self) -> None:
        """Stop the worker: jobs in progress are cancelled and queued again (they resume elsewhere)."""
        stack, self._worker_stack = self._worker_stack, None
        self.running_worker = None
        if stack is not None:
            await stack.aclose()

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
        if self._started:
            return
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
        if not self.sets_commands:
            return
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
async def build_runtime(
    settings: Settings, *, configure_logs: bool = True, with_worker: bool | None = None
) -> AsyncIterator[Runtime]:
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
            secrets=[
                s
                for s in (token.get_secret_value() if token else None, webhook_secret, *_secrets(settings))
                if s
            ],
        )
    # Flows first: a typo in YAML must stop the start before any process or connection is opened.
    registry = build_registry()
    loaded, texts = load_validated(settings.flows_path, registry)
    root = settings.flows_path.parent
    faq = FaqCatalog.load(root / FAQ_FILE, texts.locales, texts.default_locale)
    # Absolute paths: aiogram-dialog keys uploaded files by path, and every process must name a file alike.
    catalog = Catalog.load((root / CATALOG_DIR).resolve(), texts.locales, texts.default_locale)
    pricing = load_pricing(root / PRICING_FILE)
    captioner = build_captioner(root / CAPTIONS_FILE)

    async with AsyncExitStack() as stack:
        redis, redis_label = await _open_redis(settings, stack)
        storage = build_storage(redis)
        isolation = storage.create_isolation()
        await _open_db(settings, stack)
        # arq shares the bot's connection pool: one Redis, one set of connections per process.
        jobs = ArqJobQueue(ArqRedis(connection_pool=redis.connection_pool))
        storage_backend = await _open_object_storage(settings, stack)
        scratch_dir = settings.scratch_dir.resolve()
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
            video_maker=await _video_maker(settings, stack, scratch_dir),
            jobs=jobs,
            scratch_dir=scratch_dir,
            throttle=RedisThrottle(redis),
            previews_per_hour=settings.previews_per_hour,
            # The default style first (the one a draft starts with), then the others in the file's order.
            caption_styles=sorted(captioner.styles.names, key=lambda name: name != captioner.styles.default),
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
        worker_parts = _worker_parts(
            settings,
            services=services,
            storage=storage_backend,
            captioner=captioner,
            delivery=DialogDelivery(
                bot=bot,
                dialogs=bg_manager_factory,
                progress_state=_window_state(compiled, PROGRESS_WINDOW),
                result_state=_window_state(compiled, RESULT_WINDOW),
                media_ids=media_ids,
                files=services.files,
                texts=texts,
                throttle=services.throttle,
            ),
            bot=bot,
            jobs=jobs,
        )
        worker_config = WorkerConfig(
            concurrency=settings.worker_concurrency,
            poll_delay=settings.worker_poll_seconds,
            job_timeout=settings.job_timeout,
            reaper_interval=settings.reaper_interval,
            summary_hour=settings.summary_hour,
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
            pipeline=worker_parts.pipeline,
            worker_parts=worker_parts,
            worker_config=worker_config,
            webhook_secret=webhook_secret,
            webhook_secret_generated=generated,
        )
        dispatcher.startup.register(runtime.set_commands)
        stack.push_async_callback(runtime.shutdown)
        # The worker stops after the updates drained and before the session, database and Redis it uses
        # are closed.
        stack.push_async_callback(runtime.stop_worker)
        if with_worker if with_worker is not None else settings.worker_in_process:
            # One machine (``make run``): this process renders too, from the moment the dialogs are loaded
            # (a router included after the dialogs' runs its start-up handlers after theirs).
            late = Router(name="in-process-worker")
            late.startup.register(runtime.start_worker)
            dispatcher.include_router(late)
        # Generations whose job Redis lost (a Redis restarted empty) are queued again; the rest are no-ops.
        for generation_id in await services.generations.unfinished():
            await jobs.enqueue(generation_id)
        # Runs first on exit: updates still being handled (a click, a background dialog update) finish before
        # the session, database and Redis they use are closed.
        stack.push_async_callback(runtime.drain)
        yield runtime


def _worker_parts(
    settings: Settings,
    *,
    services: Services,
    storage: ObjectStorage,
    captioner: StyledCaptioner,
    delivery: DialogDelivery,
    bot: Bot,
    jobs: ArqJobQueue,
) -> WorkerParts:
    """The pipeline and the scheduled tasks a worker runs (built in every process; cheap when unused)."""
    # Several beats fit in STALE_AFTER, so a live worker is never taken for a dead one.
    heartbeats = Heartbeats(services.generations, every=min(10.0, settings.stale_after / 4))
    pipeline = Pipeline(
        generations=services.generations,
        steps=StepLog(services.clock),
        catalog=services.catalog,
        storage=storage,
        video_maker=services.video_maker,
        image_editor=services.image_editor,
        compositor=FfmpegCompositor(),
        captioner=captioner,
        delivery=delivery,
        scratch_dir=services.scratch_dir,
        upload_limit=settings.upload_limit_mb * 1024 * 1024,
        poll_interval=settings.provider_poll_seconds,
        heartbeats=heartbeats,
        clock=services.clock,
    )
    return WorkerParts(
        pipeline=pipeline,
        heartbeats=heartbeats,
        reaper=Reaper(
            generations=services.generations,
            queue=jobs,
            pipeline=pipeline,
            clock=services.clock,
            stale_after=settings.stale_after,
            deadline=settings.generation_deadline,
        ),
        cleanup=TempCleanup(
            scratch_dir=services.scratch_dir,
            # S3 buckets expire tmp/ with a lifecycle rule; a local directory is swept.
            storage_tmp=(storage.root / "tmp") if isinstance(storage, LocalStorage) else None,
        ),
        summary=_daily_summary(settings, bot, services),
        # Free draft previews are always a quick local render, whichever provider makes the paid videos.
        preview=DraftPreview(
            bot=bot,
            storage=storage,
            files=services.files,
            catalog=services.catalog,
            texts=services.texts,
            scratch_dir=services.scratch_dir,
            video_maker=LocalVideoMaker(),
            captioner=captioner,
        ),
    )


def _daily_summary(settings: Settings, bot: Bot, services: Services) -> DailySummary | None:
    chats = (settings.admin_chat_id,) if settings.admin_chat_id is not None else settings.admin_ids
    if not chats:
        return None
    return DailySummary(bot=bot, generations=services.generations, clock=services.clock, chats=chats)


async def _open_object_storage(settings: Settings, stack: AsyncExitStack) -> ObjectStorage:
    if settings.storage_backend == "local":
        return LocalStorage(settings.storage_root)
    bucket, key_id, secret = settings.s3_bucket, settings.s3_access_key_id, settings.s3_secret_access_key
    if bucket is None or key_id is None or secret is None:
        raise StartupError("STORAGE_BACKEND=s3 needs S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY")
    storage = S3Storage(
        settings.s3_endpoint_url, bucket, key_id, secret.get_secret_value(), settings.s3_region
    )
    await stack.enter_async_context(storage)
    where = f"s3://{settings.s3_bucket} at {settings.s3_endpoint_url or 'AWS'}"
    try:
        await storage.ensure_bucket()
        # Draft uploads (backgrounds, takes, look edits) live under tmp/; the bucket forgets them in a week.
        await storage.expire_prefix("tmp/", TMP_DAYS)
    except ProviderError as exc:
        raise StartupError(f"S3_ENDPOINT_URL/S3_BUCKET: cannot use {where}: {exc.detail or exc}") from None
    return storage


async def _video_maker(settings: Settings, stack: AsyncExitStack, scratch_dir: Path) -> TalkingVideoMaker:
    """OmniHuman on fal.ai when configured (VIDEO_PROVIDER, FAL_KEY), else the local ffmpeg render."""
    if settings.uses_omnihuman and settings.fal_key is not None:
        http = new_http_client()
        stack.push_async_callback(http.aclose)
        fal = FalQueueClient(
            http,
            settings.fal_key.get_secret_value(),
            queue_url=settings.fal_queue_url,
            rest_url=settings.fal_rest_url,
            upload_url=settings.fal_upload_url,
        )
        return OmniHumanVideo(fal, resolution=settings.omnihuman_resolution)
    return LocalVideoMaker(spool=scratch_dir / "local-video")


def _window_state(compiled: CompiledFlows, window: tuple[str, str]) -> State:
    """The state of a window the runtime itself opens; a flows.yaml without it cannot run."""
    try:
        return compiled.state(*window)
    except KeyError:
        raise StartupError(f"flows.yaml has no window {'.'.join(window)}, which delivers videos") from None


def _secrets(settings: Settings) -> list[str]:
    """Values the logs must never show, beside the bot token and the webhook secret."""
    return [
        secret.get_secret_value()
        for secret in (settings.fal_key, settings.s3_secret_access_key)
        if secret is not None
    ]


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
