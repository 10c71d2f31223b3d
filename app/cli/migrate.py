"""``python -m app migrate``: apply pending migrations to DATABASE_URL; --make and --check are dev tools."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.config import ConfigError, load_settings
from app.db.migrations import MigrationError, apply_migrations, make_migration, pending_changes
from app.db.setup import DatabaseUrlError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app migrate", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--make",
        metavar="NAME",
        help="write the next migration for changed models (SQL for SQLite and PostgreSQL; needs no database)",
    )
    mode.add_argument(
        "--check", action="store_true", help="exit 1 when the models changed without a migration"
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.make:
            return asyncio.run(_make(args.make))
        if args.check:
            return asyncio.run(_check())
        try:
            database_url = load_settings().database_url
        except ConfigError as exc:
            print(f"configuration error:\n{exc}", file=sys.stderr)
            return 2
        return asyncio.run(_apply(database_url))
    except (MigrationError, DatabaseUrlError) as exc:
        print(f"migration error: {exc}", file=sys.stderr)
        return 1


async def _apply(database_url: str) -> int:
    applied = await apply_migrations(database_url)
    for name in applied:
        print(f"applied {name}")
    if not applied:
        print("the database is up to date")
    return 0


async def _make(name: str) -> int:
    path = await make_migration(name)
    if path is None:
        print("no model changes: nothing to write")
        return 0
    print(f"wrote {path}; read its SQL for both dialects before committing it")
    return 0


async def _check() -> int:
    changes = await pending_changes()
    if not changes:
        print("migrations match the models")
        return 0
    print("models changed without a migration; run `python -m app migrate --make <name>`. Missing SQL:")
    for dialect, diff in changes.items():
        print(f"  {dialect}:")
        for statement in diff.upgrade:
            print(f"    {statement.strip()}")
    return 1
