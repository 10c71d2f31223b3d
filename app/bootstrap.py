"""The composition root: builds every collaborator of one bot process, in one place and one order."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aerich.models import Aerich
from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import BotCommandScopeChat
from aiogram_dialog import BgManagerFactory
from aiogram_dialog.api.entities import DIALOG_EVENT_NAME
from aiohttp import web
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.exceptions import OperationalError

from app.config import Settings
from app.db.migrations import migration_files
from app.db.setup import APP as DB_APP
from app.db.setup import DatabaseUrlError, check_db, close_db, init_db
from app.domain.pricing import Pricing
from app.fsm.embedded import EmbeddedRedis, EmbeddedRedisError
from app.fsm.storage import build_storage
from app.jobs.broadcast import BroadcastSender
from app.jobs.captions import StyledCaptioner, build_captioner
from app.jobs.delivery import PROGRESS_WINDOW, RESULT_WINDOW, DialogDelivery
from app.jobs.heartbeat import Heartbeats
from app.jobs.pipeline import Pipeline
from app.jobs.preview import DraftPreview
from app.jobs.queue import ArqJobQueue
from app.jobs.scheduled import DailySummary, Reaper, TempCleanup
from app.jobs.wakeups import RenderWakeups
from app.jobs.worker import WorkerConfig, WorkerParts, build_worker, worker_running
from app.logs import get_logger, mask_url, setup_logging
from app.metrics import Metrics, UpdateMetricsMiddleware, metrics_handler, queue_check, storage_check
from app.services.catalog import Catalog
from app.services.container import Services, build_services
from app.services.fal.inputs import FalInputs, FalUploads, PresignedInputs
from app.services.fal.queue import FalQueueClient, new_http_client
from app.services.fal.webhook import FalWebhookEndpoint, FalWebhookVerifier
from app.services.faq import FaqCatalog
from app.services.image.local import LocalImageEditor
from app.services.image.nano_banana import NanoBananaEditor
from app.services.pricing import load_pricing
from app.services.providers import (
    ImageEditor,
    ObjectStorage,
    OperatorAlerts,
    ProviderError,
    SpeechSynthesizer,
    TalkingVideoMaker,
)
from app.services.speech.elevenlabs import ElevenLabsSpeech
from app.services.speech.local import LocalSpeech
from app.services.speech.reuse import ReusingSpeech
from app.services.steps import StepLog
from app.services.storage.files_route import LocalFilesRoute
from app.services.storage.local import LocalStorage
from app.services.storage.s3 import S3Storage
from app.services.throttle import RedisThrottle
from app.services.video.compose import FfmpegCompositor
from app.services.video.local import LocalVideoMaker
from app.services.video.omnihuman import MODEL as OMNIHUMAN_MODEL
from app.services.video.omnihuman import MODEL_V1 as OMNIHUMAN_MODEL_V1
from app.services.video.omnihuman import OmniHumanVideo
from app.telegram import InFlightUpdates, LogContextMiddleware, UserContextMiddleware, create_bot
from app.telegram.activity import ActivityMiddleware, ActivityRecorder
from app.telegram.alerts import TelegramAlerts
from app.telegram.feedback_replies import feedback_replies_router
from app.telegram.media_ids import RedisMediaIdStorage
from app.telegram.middlewares import BackgroundUserMiddleware, PoliteRefusal
from app.web import HealthCheck
from dialogs.attach import attach_flows
from dialogs.compile import CompiledFlows, compile_flows
from dialogs.flowfile import load_validated
from dialogs.hooks import build_registry
from dialogs.i18n import TextCatalog
from dialogs.loader import LoadedFlows
from dialogs.registry import SERVICES_KEY, HookRegistry

log = get_logger(__name__)

# Editable catalogs live next to flows.yaml, so a checkout (or a test copy of the flow) is self-contained.
FAQ_FILE = "catalog/faq.yaml"
CATALOG_DIR = "catalog"
PRICING_FILE = "catalog/pricing.yaml"
CAPTIONS_FILE = "catalog/captions.yaml"
# Days the object storage keeps draft uploads under tmp/ (a generation keeps its own copies).
TMP_DAYS = 7
FAL_WEBHOOK_PATH = "/fal/webhook"
FILES_PATH = "/files"
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
    routes: list[web.RouteDef] = field(default_factory=list)
    """Extra routes of the web server: fal.ai's webhook, signed local files."""
    providers: dict[str, str] = field(default_factory=dict)
    """Which provider does what, for the start-up log and ``/health``."""
    metrics: Metrics = field(default_factory=Metrics)
    _started: bool = field(default=False, repr=False)
    _worker_stack: AsyncExitStack | None = field(default=None, repr=False)

    async def start_worker(self) -> Worker:
        """Start this runtime's arq worker in the background (once); it needs :meth:`startup` to have run:
        aiogram-dialog loads its registry there, and the worker's background updates use it."""
        if self.running_worker is not None:
            return self.running_worker
        pool = ArqRedis(connection_pool=self.redis.connection_pool)
        worker = build_worker(pool, self.worker_parts, self.worker_config)
        if self.services.broadcasts is not None:
            # Broadcasts a stopped worker left half sent continue (a queued one is a no-op to enqueue again).
            for broadcast_id in await self.services.broadcasts.unfinished():
                await self.jobs.enqueue_broadcast(broadcast_id)
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
        """What ``/health`` probes: the database, Redis, the object storage and the job queue."""

        async def redis_ok() -> bool:
            return bool(await self.redis.ping())

        return {
            "db": check_db,
            "redis": redis_ok,
            "storage": storage_check(self.services.storage),
            "queue": queue_check(self.redis, self.jobs.queue_name),
        }

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
            language = None if locale == self.texts.default_locale else locale
            # Everyone's menu; each admin's own chat also lists the admin commands (nobody else sees them).
            scopes: list[tuple[BotCommandScopeChat | None, bool]] = [(None, False)]
            scopes += [(BotCommandScopeChat(chat_id=admin), True) for admin in self.settings.admin_ids]
            for scope, admins in scopes:
                commands = self.compiled.bot_commands(locale, admins=admins)
                try:
                    await self.bot.set_my_commands(commands, scope=scope, language_code=language)
                except TelegramUnauthorizedError:
                    raise
                except TelegramAPIError as exc:
                    # The menu is a convenience; a bot that cannot set it still serves users.
                    log.warning("telegram: setMyCommands failed", locale=locale, error=str(exc))


@dataclass(frozen=True)
class _Editable:
    """What product editors change in YAML: flows and texts, FAQ, catalog, prices, caption styles."""

    registry: HookRegistry
    loaded: LoadedFlows
    texts: TextCatalog
    faq: FaqCatalog
    catalog: Catalog
    pricing: Pricing
    captioner: StyledCaptioner


def _load_editable(settings: Settings) -> _Editable:
    registry = build_registry()
    loaded, texts = load_validated(settings.flows_path, registry)
    root = settings.flows_path.parent
    return _Editable(
        registry=registry,
        loaded=loaded,
        texts=texts,
        faq=FaqCatalog.load(root / FAQ_FILE, texts.locales, texts.default_locale),
        # Absolute paths: aiogram-dialog keys uploaded files by path; every process must name a file alike.
        catalog=Catalog.load((root / CATALOG_DIR).resolve(), texts.locales, texts.default_locale),
        pricing=load_pricing(root / PRICING_FILE),
        captioner=build_captioner(root / CAPTIONS_FILE),
    )


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
    edited = _load_editable(settings)
    registry, loaded, texts, captioner = edited.registry, edited.loaded, edited.texts, edited.captioner

    async with AsyncExitStack() as stack:
        redis, redis_label = await _open_redis(settings, stack)
        storage = build_storage(redis)
        isolation = storage.create_isolation()
        await _open_db(settings, stack)
        # arq shares the bot's connection pool: one Redis, one set of connections per process.
        jobs = ArqJobQueue(ArqRedis(connection_pool=redis.connection_pool))
        storage_backend = await _open_object_storage(settings, stack)
        bot = create_bot(settings)
        stack.push_async_callback(bot.session.close)
        throttle = RedisThrottle(redis)
        metrics = Metrics()
        pipeline_ref: list[Pipeline] = []
        services, providers = await _services(
            settings, stack, edited, bot=bot, throttle=throttle, storage=storage_backend, jobs=jobs,
            pipeline_ref=pipeline_ref, metrics=metrics,
        )  # fmt: skip
        # Uploaded photos, samples and videos are re-sent by file_id from any process sharing this Redis.
        media_ids = RedisMediaIdStorage(redis, namespace=str(bot.id))

        in_flight = InFlightUpdates()
        # Last seen and update counts, written in batches (one statement per flush, not one per update).
        activity = ActivityRecorder(services.clock)
        stack.push_async_callback(_stop_task, asyncio.create_task(activity.run(), name="activity"))
        dispatcher = _dispatcher(
            storage,
            isolation=isolation,
            services=services,
            in_flight=in_flight,
            refusal=PoliteRefusal(texts, throttle),
            metrics=metrics,
            activity=activity,
        )
        admins = frozenset(settings.admin_ids)
        compiled = compile_flows(
            loaded.flows, registry, texts, base_dir=settings.flows_path.parent, is_admin=admins.__contains__
        )
        if services.feedback is not None and services.feedback.chat_id is not None:
            # Before the flows: an admin's reply in the feedback chat is an answer, not input to a window.
            dispatcher.include_router(feedback_replies_router(services.feedback, services.users, texts))
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
            park_after=settings.fal_webhook_fallback_seconds if providers.fal_webhooks else None,
            metrics=metrics,
        )
        pipeline_ref.append(worker_parts.pipeline)
        routes = _routes(
            settings, storage=storage_backend, providers=providers, redis=redis, services=services, jobs=jobs
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
            routes=[*routes, _metrics_route(settings, metrics)],
            providers=providers.labels | {"storage": _storage_label(settings)},
            metrics=metrics,
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


async def _services(
    settings: Settings,
    stack: AsyncExitStack,
    edited: _Editable,
    *,
    bot: Bot,
    throttle: RedisThrottle,
    storage: ObjectStorage,
    jobs: ArqJobQueue,
    pipeline_ref: list[Pipeline],
    metrics: Metrics,
) -> tuple[Services, Providers]:
    """The providers chosen by the settings, and the services hooks and jobs use."""
    scratch_dir = settings.scratch_dir.resolve()
    alerts = TelegramAlerts(bot, _admin_chats(settings), throttle)
    providers = await _providers(settings, stack, storage=storage, scratch_dir=scratch_dir, alerts=alerts)
    log.info("providers", **providers.labels, storage=_storage_label(settings))

    async def abandon(generation_id: int, reason: str, detail: str) -> None:
        # An admin's refund fails the video the way the reaper does (refund once, tell the user); the
        # pipeline is built after these services, from them.
        await pipeline_ref[0].abandon(generation_id, reason, detail)

    texts, captioner = edited.texts, edited.captioner
    services = build_services(
        texts=texts,
        faq=edited.faq,
        locales=texts.locales,
        welcome_bonus=settings.welcome_bonus,
        catalog=edited.catalog,
        pricing=edited.pricing,
        storage=storage,
        speech=providers.speech,
        image_editor=providers.image_editor,
        video_maker=providers.video_maker,
        jobs=jobs,
        scratch_dir=scratch_dir,
        throttle=throttle,
        previews_per_hour=settings.previews_per_hour,
        # The default style first (the one a draft starts with), then the others in the file's order.
        caption_styles=sorted(captioner.styles.names, key=lambda name: name != captioner.styles.default),
        admin_ids=settings.admin_ids,
        messenger=bot,
        feedback_chat_id=settings.admin_feedback_chat_id,
        abandon=abandon,
        metrics=metrics,
    )
    return services, providers


def _dispatcher(
    storage: RedisStorage,
    *,
    isolation: BaseEventIsolation,
    services: Services,
    in_flight: InFlightUpdates,
    refusal: PoliteRefusal,
    metrics: Metrics,
    activity: ActivityRecorder,
) -> Dispatcher:
    dispatcher = Dispatcher(storage=storage, events_isolation=isolation)
    dispatcher[SERVICES_KEY] = services
    user_context = UserContextMiddleware(services, refusal)
    # Middleware order, outermost first (after aiogram's own error, user-context and FSM middlewares):
    # in-flight → metrics → log context → activity → the user row, locale and services → aiogram-dialog's.
    dispatcher.update.outer_middleware(in_flight)
    dispatcher.update.outer_middleware(UpdateMetricsMiddleware(metrics))
    dispatcher.update.outer_middleware(LogContextMiddleware())
    dispatcher.update.outer_middleware(ActivityMiddleware(activity))
    dispatcher.message.outer_middleware(user_context)
    dispatcher.callback_query.outer_middleware(user_context)
    # Recovery from stale buttons answers in the user's chosen language: errors need the locale too.
    dispatcher.errors.outer_middleware(user_context)
    return dispatcher


def _worker_parts(
    settings: Settings,
    *,
    services: Services,
    storage: ObjectStorage,
    captioner: StyledCaptioner,
    delivery: DialogDelivery,
    bot: Bot,
    jobs: ArqJobQueue,
    park_after: float | None,
    metrics: Metrics,
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
        costs=services.costs,
        park_after=park_after,
        metrics=metrics,
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
        queue=jobs,
        broadcast=(
            BroadcastSender(bot, services.broadcasts, services.texts, services.clock).run
            if services.broadcasts is not None
            else None
        ),
    )


def _metrics_route(settings: Settings, metrics: Metrics) -> web.RouteDef:
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    return web.get("/metrics", metrics_handler(metrics, token=token))


async def _stop_task(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait for its last words (the activity recorder flushes once more)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _admin_chats(settings: Settings) -> tuple[int, ...]:
    return (settings.admin_chat_id,) if settings.admin_chat_id is not None else settings.admin_ids


def _storage_label(settings: Settings) -> str:
    if settings.storage_backend == "s3":
        return f"s3 bucket {settings.s3_bucket} at {settings.s3_endpoint_url or 'AWS'}"
    return f"local ({settings.storage_root})" + (" with signed links" if settings.public_url else "")


def _routes(
    settings: Settings,
    *,
    storage: ObjectStorage,
    providers: Providers,
    redis: Redis,
    services: Services,
    jobs: ArqJobQueue,
) -> list[web.RouteDef]:
    """Routes of the web server beside Telegram's webhook and /health: fal.ai's webhook, signed files."""
    routes: list[web.RouteDef] = []
    if providers.fal_webhooks and providers.fal_http is not None:
        verifier = FalWebhookVerifier(providers.fal_http, jwks_url=settings.fal_jwks_url)
        wakeups = RenderWakeups(redis, StepLog(services.clock), jobs)
        routes.append(web.post(FAL_WEBHOOK_PATH, FalWebhookEndpoint(verifier, wakeups.on_fal_event).handle))
    if isinstance(storage, LocalStorage) and storage.signer is not None:
        files = LocalFilesRoute(storage)
        routes.append(web.get(FILES_PATH + "/{key:.+}", files.handle))
    return routes


def _daily_summary(settings: Settings, bot: Bot, services: Services) -> DailySummary | None:
    chats = _admin_chats(settings)
    if not chats:
        return None
    return DailySummary(bot=bot, generations=services.generations, clock=services.clock, chats=chats)


async def _open_object_storage(settings: Settings, stack: AsyncExitStack) -> ObjectStorage:
    if settings.storage_backend == "local":
        if settings.public_url is None:
            return LocalStorage(settings.storage_root)
        # Signed links to our files (for fal.ai, for videos over Telegram's upload limit) served at /files/.
        return LocalStorage(
            settings.storage_root, public_url=settings.public_url, signing_key=_files_signing_key(settings)
        )
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
    except ProviderError as exc:
        raise StartupError(f"S3_ENDPOINT_URL/S3_BUCKET: cannot use {where}: {exc.detail or exc}") from None
    try:
        # Draft uploads (backgrounds, takes, look edits) live under tmp/; the bucket forgets them in a week.
        await storage.expire_prefix("tmp/", TMP_DAYS)
        await storage.abort_incomplete_uploads(1)
    except ProviderError as exc:
        # A token scoped to objects may not set bucket rules (R2): `python -m app storage init` with an
        # admin token does it once; the bot still works meanwhile, tmp/ just is not expired.
        log.warning("storage: could not set the bucket's lifecycle rules; run `python -m app storage init`",
                    error=exc.detail or str(exc))  # fmt: skip
    return storage


@dataclass
class Providers:
    """The speech, look-edit and video providers this process uses, and what ``/health`` says of them."""

    speech: SpeechSynthesizer
    image_editor: ImageEditor
    video_maker: TalkingVideoMaker
    labels: dict[str, str]
    fal_webhooks: bool = False
    fal_http: httpx.AsyncClient | None = None


async def _providers(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    storage: ObjectStorage,
    scratch_dir: Path,
    alerts: OperatorAlerts,
) -> Providers:
    """Each provider by its setting: ``auto`` is the real one when its key is set, the local one otherwise."""
    labels: dict[str, str] = {}
    speech: SpeechSynthesizer
    if settings.uses_elevenlabs and settings.elevenlabs_api_key is not None:
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(180.0, connect=10.0), follow_redirects=False, trust_env=False
        )
        stack.push_async_callback(http.aclose)
        eleven = ElevenLabsSpeech(
            http=http,
            api_key=settings.elevenlabs_api_key.get_secret_value(),
            base_url=settings.elevenlabs_url,
            model_id=settings.elevenlabs_model,
            output_format=settings.elevenlabs_output_format,
            concurrency=settings.elevenlabs_concurrency,
            alerts=alerts,
        )
        # A take of the same text by the same voice is read back from storage, not paid for again.
        speech = ReusingSpeech(eleven, storage, scratch_dir=scratch_dir / "speech-reuse")
        labels["speech"] = f"elevenlabs ({settings.elevenlabs_model}, {settings.elevenlabs_output_format})"
    else:
        speech = LocalSpeech()
        labels["speech"] = "local (espeak-ng)"

    fal: FalQueueClient | None = None
    fal_http: httpx.AsyncClient | None = None
    inputs: FalInputs | None = None
    if settings.fal_key is not None and (settings.uses_omnihuman or settings.nano_banana_model is not None):
        fal_http = new_http_client()
        stack.push_async_callback(fal_http.aclose)
        fal = FalQueueClient(
            fal_http,
            settings.fal_key.get_secret_value(),
            queue_url=settings.fal_queue_url,
            rest_url=settings.fal_rest_url,
            upload_url=settings.fal_upload_url,
        )
        if settings.fal_inputs == "presigned":
            inputs = PresignedInputs(storage, expires=settings.s3_presign_seconds)
        else:
            inputs = FalUploads(fal)

    image_editor: ImageEditor
    model = settings.nano_banana_model
    if fal is not None and inputs is not None and model is not None:
        image_editor = NanoBananaEditor(fal, inputs, model=model, output_format=settings.image_output_format)
        labels["image"] = f"{model} on fal.ai"
    else:
        image_editor = LocalImageEditor()
        labels["image"] = "local (Pillow)"

    video_maker: TalkingVideoMaker
    webhooks = settings.uses_fal_webhooks and settings.public_url is not None
    if fal is not None and inputs is not None and settings.uses_omnihuman:
        omnihuman_model = OMNIHUMAN_MODEL_V1 if settings.omnihuman_model == "v1" else OMNIHUMAN_MODEL
        video_maker = OmniHumanVideo(
            fal,
            inputs=inputs,
            resolution=settings.omnihuman_resolution,
            model=omnihuman_model,
            webhook_url=f"{settings.public_url}{FAL_WEBHOOK_PATH}" if webhooks else None,
        )
        how = "webhooks + polling fallback" if webhooks else "polling"
        labels["video"] = f"{omnihuman_model} {settings.omnihuman_resolution} on fal.ai ({how})"
    else:
        video_maker = LocalVideoMaker(spool=scratch_dir / "local-video")
        labels["video"] = "local (ffmpeg)"
        webhooks = False
    if fal is not None:
        labels["fal_inputs"] = settings.fal_inputs
    return Providers(speech, image_editor, video_maker, labels, fal_webhooks=webhooks, fal_http=fal_http)


def _files_signing_key(settings: Settings) -> bytes:
    """FILES_SIGNING_KEY, or a random key kept in DATA_DIR (every process on the machine signs alike)."""
    if settings.files_signing_key is not None:
        return settings.files_signing_key.get_secret_value().encode()
    path = settings.data_dir / "files-signing.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this machine made it a moment ago
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    return key


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
        for secret in (
            settings.fal_key,
            settings.s3_secret_access_key,
            settings.elevenlabs_api_key,
            settings.files_signing_key,
            settings.metrics_token,
        )
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
