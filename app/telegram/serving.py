"""Serving updates: long polling or webhook, with /health and / on the same port, until asked to stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.types import User
from aiohttp import web

from app.bootstrap import DRAIN_SECONDS, Runtime, StartupError
from app.logs import get_logger, mask_url
from app.web import WebhookEndpoint, create_app

log = get_logger(__name__)


async def serve(runtime: Runtime, stop: asyncio.Event) -> None:
    """Serve updates with ``runtime`` until ``stop`` is set; :class:`StartupError` if it cannot start."""
    settings = runtime.settings
    me = await _whoami(runtime)
    title = f"UGC Bot @{me.username}" if me.username else "UGC Bot"
    summary = {
        "bot": f"@{me.username}",
        "bot_api": settings.telegram_api_url,
        "redis": runtime.redis_label,
        "database": mask_url(settings.database_url),
        "health": f"http://{settings.web_host}:{settings.web_port}/health",
    }
    if settings.webhook_url is None:
        async with _web_server(runtime, title, webhook=None):
            await _leave_webhook(runtime)
            log.info("bot started: long polling (/health and / served for probes)", **summary)
            await _poll(runtime, stop)
        return

    secret = runtime.webhook_secret
    if secret is None:  # pragma: no cover - build_runtime always resolves one in webhook mode
        raise StartupError("WEBHOOK_SECRET: no secret for webhook mode")
    if runtime.webhook_secret_generated:
        log.warning(
            "WEBHOOK_SECRET is not set: using a random secret for this run "
            "(set WEBHOOK_SECRET when several processes serve the webhook)"
        )
    if urlsplit(settings.webhook_url).path.rstrip("/") != settings.webhook_path.rstrip("/"):
        log.warning(
            "the path of WEBHOOK_URL differs from WEBHOOK_PATH; fine only if a proxy rewrites it",
            webhook_url=settings.webhook_url,
            webhook_path=settings.webhook_path,
        )
    endpoint = WebhookEndpoint(runtime.dispatcher, runtime.bot, secret=secret, drain_timeout=DRAIN_SECONDS)
    # Start-up handlers load aiogram-dialog's registry: they must run before the first update arrives.
    await runtime.startup()
    async with _web_server(runtime, title, webhook=endpoint):
        try:
            await runtime.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=secret,
                allowed_updates=runtime.allowed_updates(),
                max_connections=settings.webhook_max_connections,
            )
        except TelegramAPIError as exc:
            raise StartupError(f"WEBHOOK_URL: Telegram refused setWebhook: {exc}") from None
        log.info("bot started: webhook", webhook_url=settings.webhook_url, **summary)
        await stop.wait()
        log.info("stopping: finishing updates in progress; Telegram keeps new ones until the webhook is back")


async def _whoami(runtime: Runtime) -> User:
    url = runtime.settings.telegram_api_url
    try:
        return await runtime.bot.get_me()
    except TelegramUnauthorizedError:
        raise StartupError(
            f"TELEGRAM_BOT_TOKEN: the Bot API at {url} rejected the token (401); check it with @BotFather"
        ) from None
    except TelegramAPIError as exc:
        raise StartupError(f"TELEGRAM_API_URL: cannot use the Bot API at {url}: {exc}") from None


async def _leave_webhook(runtime: Runtime) -> None:
    """Polling gets nothing (409 Conflict) while a webhook is set, e.g. after a webhook deployment."""
    bot = runtime.bot
    try:
        info = await bot.get_webhook_info()
        if info.url:
            log.warning(
                "a webhook is set; removing it to poll (pending updates are kept)", webhook_url=info.url
            )
            await bot.delete_webhook(drop_pending_updates=False)
    except TelegramAPIError as exc:
        log.warning("could not check for a webhook before polling", error=str(exc))


async def _poll(runtime: Runtime, stop: asyncio.Event) -> None:
    dispatcher = runtime.dispatcher
    polling = asyncio.create_task(
        dispatcher.start_polling(
            runtime.bot,
            allowed_updates=runtime.allowed_updates(),
            handle_signals=False,  # the caller's stop event also stops the web server and closes the runtime
            close_bot_session=False,  # the runtime owns the session
        ),
        name="polling",
    )
    stopper = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait({polling, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if polling in done:
        stopper.cancel()
        await polling  # polling ended by itself: surface its error
        return
    log.info("stopping: no new updates; finishing the ones in progress")
    try:
        await dispatcher.stop_polling()
    except RuntimeError:  # the stop came before polling had started
        polling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await polling
    await runtime.drain()


@contextlib.asynccontextmanager
async def _web_server(runtime: Runtime, title: str, webhook: WebhookEndpoint | None) -> AsyncIterator[None]:
    settings = runtime.settings
    app = create_app(
        title=title,
        health_checks=runtime.health_checks(),
        webhook=webhook,
        webhook_path=settings.webhook_path,
        routes=runtime.routes,
        providers=runtime.providers,
    )
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.web_host, settings.web_port)
        try:
            await site.start()
        except OSError as exc:
            where = f"{settings.web_host}:{settings.web_port}"
            raise StartupError(f"WEB_PORT: cannot listen on {where}: {exc.strerror or exc}") from None
        yield
    finally:
        # Closes the listener first, then drains the webhook's updates in progress.
        await runner.cleanup()
