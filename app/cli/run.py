"""``python -m app run``: the bot — long polling by default, webhook mode when WEBHOOK_URL is set.

Both modes serve ``GET /health`` and ``GET /`` on WEB_HOST:WEB_PORT. SIGINT/SIGTERM stop it gracefully: no new
updates are taken, updates in progress finish, then the bot session, database, Redis and the embedded
redis-server are closed. Exit codes: 0 stopped, 1 a dependency failed, 2 configuration or flows.yaml is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from app.config import ConfigError, Settings, load_settings
from app.logs import get_logger

log = get_logger(__name__)

NO_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not set.\n"
    "  - To chat with the bot locally, run `make run`: it starts the local Telegram stand-in and gives\n"
    "    the bot a token for it.\n"
    "  - To run on Telegram, set TELEGRAM_BOT_TOKEN (from @BotFather) in the environment or in .env."
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app run",
        description="Run the bot: long polling, or a webhook when WEBHOOK_URL is set (see .env.example).",
    )
    parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    if settings.telegram_bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    return asyncio.run(run(settings))


async def run(settings: Settings, *, stop: asyncio.Event | None = None) -> int:
    """Build the runtime and serve until ``stop`` is set (default: SIGINT/SIGTERM); returns the exit code."""
    # Imported here: aiogram takes seconds to import, and a configuration error should answer at once.
    from app.bootstrap import StartupError, build_runtime  # noqa: PLC0415  (see above)
    from app.services.catalog_files import CatalogError  # noqa: PLC0415  (see above)
    from app.telegram.serving import serve  # noqa: PLC0415  (see above)
    from dialogs.errors import FlowErrors  # noqa: PLC0415  (see above)

    if stop is None:
        stop = stop_on_signals()
    try:
        async with build_runtime(settings) as runtime:
            await serve(runtime, stop)
    except FlowErrors as exc:
        print(f"{settings.flows_path} has errors; the bot was not started:\n{exc}", file=sys.stderr)
        return 2
    except CatalogError as exc:
        print(f"catalog error; the bot was not started:\n{exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        # Logged rather than printed: the log redacts secrets a dependency's error message might echo.
        log.error(f"start-up failed: {exc}")
        return 1
    except Exception:
        # Same reason: a bare traceback from asyncio.run would bypass redaction (aiohttp errors carry URLs).
        log.exception("the bot stopped on an unexpected error")
        return 1
    log.info("bot stopped")
    return 0


def stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGINT/SIGTERM; a second one stops at once (the default behaviour)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        log.info(f"{sig.name} received: stopping (send it again to stop at once)")
        for s in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(s)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    return stop
