"""``python -m app worker``: a generation worker — renders videos, free previews and runs the scheduled tasks.

Run any number of them, on any machines sharing REDIS_URL, DATABASE_URL and the object storage (S3/R2 when
they are on different machines). SIGINT/SIGTERM stop it: jobs in progress are cancelled and queued again, and
whichever worker takes them up resumes at their first unfinished step. Exit codes as ``python -m app run``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from app.config import ConfigError, Settings, load_settings
from app.logs import get_logger

if TYPE_CHECKING:
    from app.bootstrap import Runtime

log = get_logger(__name__)

NO_REDIS = (
    "REDIS_URL is not set: workers and bots find each other through one Redis.\n"
    "  - On one machine, `make run` renders inside the bot process (no worker needed).\n"
    "  - Otherwise set REDIS_URL (and DATABASE_URL, STORAGE_BACKEND) to what the bot uses."
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app worker",
        description="Run a generation worker (arq) against REDIS_URL, DATABASE_URL and the object storage.",
    )
    parser.add_argument("--concurrency", type=int, help="generations rendered at once (WORKER_CONCURRENCY)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.concurrency is not None:
            settings = settings.model_copy(update={"worker_concurrency": args.concurrency})
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    if settings.redis_url is None:
        print(NO_REDIS, file=sys.stderr)
        return 2
    if settings.telegram_bot_token is None:
        print("TELEGRAM_BOT_TOKEN is not set: the worker sends the videos as the bot.", file=sys.stderr)
        return 2
    return asyncio.run(work(settings))


async def work(settings: Settings, *, stop: asyncio.Event | None = None) -> int:
    # Imported here: aiogram takes seconds to import, and a configuration error should answer at once.
    from app.bootstrap import StartupError, build_runtime  # noqa: PLC0415  (see above)
    from app.cli.run import stop_on_signals  # noqa: PLC0415  (see above)
    from app.services.catalog_files import CatalogError  # noqa: PLC0415  (see above)
    from dialogs.errors import FlowErrors  # noqa: PLC0415  (see above)

    if stop is None:
        stop = stop_on_signals()
    try:
        async with build_runtime(settings, with_worker=False) as runtime:
            runtime.sets_commands = False
            await runtime.startup()
            await runtime.start_worker()
            log.info("worker started", concurrency=settings.worker_concurrency)
            async with _metrics_server(runtime):
                await stop.wait()
    except (FlowErrors, CatalogError) as exc:
        print(f"flows or catalog have errors; the worker was not started:\n{exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        log.error(f"start-up failed: {exc}")
        return 1
    except Exception:
        log.exception("the worker stopped on an unexpected error")
        return 1
    log.info("worker stopped")
    return 0


@contextlib.asynccontextmanager
async def _metrics_server(runtime: Runtime) -> AsyncIterator[None]:
    """``GET /metrics`` and ``/health`` of this worker on WEB_HOST:METRICS_PORT, when a port is set: what
    the worker records (provider latency and errors, renders) lives in this process."""
    from aiohttp import web  # noqa: PLC0415  (see work())

    from app.web import create_app  # noqa: PLC0415  (see work())

    settings = runtime.settings
    if settings.metrics_port is None:
        yield
        return
    app = create_app(
        title="UGC Bot worker",
        health_checks=runtime.health_checks(),
        routes=[route for route in runtime.routes if route.path == "/metrics"],
        providers=runtime.providers,
    )
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.web_host, settings.metrics_port).start()
        log.info("worker metrics served", host=settings.web_host, port=settings.metrics_port)
        yield
    finally:
        await runner.cleanup()
