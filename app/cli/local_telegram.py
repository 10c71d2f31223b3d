"""``python -m app local-telegram``: the local Bot API stand-in with its control API and web chat."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys

from app.localtg.server import run
from app.localtg.settings import Settings

DESCRIPTION = "Run the local stand-in for Telegram's Bot API, its control API and the web chat on one port."


def main(argv: list[str]) -> int:
    try:
        settings = Settings.from_env(os.environ)
    except ValueError as exc:
        print(f"local-telegram: {exc} (check LOCAL_TELEGRAM_* variables)", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="python -m app local-telegram", description=DESCRIPTION)
    parser.add_argument("--host", default=settings.host, help="interface to listen on (LOCAL_TELEGRAM_HOST)")
    parser.add_argument("--port", type=int, default=settings.port, help="port (LOCAL_TELEGRAM_PORT, 8081)")
    parser.add_argument("--token", default=settings.token, help="the one bot token (LOCAL_TELEGRAM_TOKEN)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = dataclasses.replace(settings, host=args.host, port=args.port, token=args.token)
    except ValueError as exc:
        parser.error(str(exc))
    run(settings)
    return 0
