"""Migrations: apply them with aerich, write new ones holding SQL for every dialect, find models without one.

aerich writes the SQL of one dialect per file. This project runs on SQLite and PostgreSQL, so each migration
file keeps one script per dialect and its ``upgrade(db)`` returns the script of ``db``'s dialect (see
``migrations/README.md``). Files are still plain aerich migrations: ``MODELS_STATE`` records the models they
lead to, and aerich's ``Command.upgrade`` applies them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aerich import Command
from aerich.migrate import Migrate
from aerich.utils import decompress_dict, get_formatted_compressed_data, get_models_describe, import_py_file
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext
from tortoise.utils import get_schema_sql

from app.db.setup import APP, MODEL_MODULES, Dialect, dialect_of, redact_url, tortoise_config

MIGRATIONS_LOCATION = Path(__file__).resolve().parents[2] / "migrations"
DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgres")
# Tortoise builds a client for these without connecting, which is all aerich's DDL generators need.
_OFFLINE_URLS: dict[Dialect, str] = {
    "sqlite": "sqlite://:memory:",
    "postgres": "postgres://offline:offline@127.0.0.1:9/offline",
}
_NAME = re.compile(r"^[a-z0-9_]{1,60}$")
_VERSION_FILE = re.compile(r"^(\d+)_\d+_[A-Za-z0-9_]+\.py$")


class MigrationError(RuntimeError):
    """A migration cannot be written or applied."""


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    """SQL statements that take one dialect's schema from the last migration to the current models."""

    upgrade: list[str] = field(default_factory=list)
    downgrade: list[str] = field(default_factory=list)


def migrations_dir(location: Path = MIGRATIONS_LOCATION) -> Path:
    """The folder aerich reads for our app (``<location>/models``)."""
    return Migrate.get_migration_dir(str(location), APP)


def migration_files(location: Path = MIGRATIONS_LOCATION) -> list[Path]:
    """Migration files in the order they apply."""
    folder = migrations_dir(location)
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob("*.py") if _VERSION_FILE.match(p.name)]
    return sorted(files, key=lambda p: int(p.name.split("_", 1)[0]))


def recorded_state(location: Path = MIGRATIONS_LOCATION) -> dict[str, Any] | None:
    """The models the last migration leads to (aerich's describe), or None when there is no migration."""
    files = migration_files(location)
    if not files:
        return None
    state = getattr(import_py_file(files[-1]), "MODELS_STATE", None)
    if not state:
        raise MigrationError(f"{files[-1]}: no MODELS_STATE; it was not written by this project's tool")
    decoded: dict[str, Any] = decompress_dict(state)
    return decoded


async def apply_migrations(database_url: str, location: Path = MIGRATIONS_LOCATION) -> list[str]:
    """Apply the migrations the database has not seen yet; returns their file names."""
    config = tortoise_config(database_url)
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        try:
            await ctx.db(dialect_of(database_url)).execute_query("SELECT 1")
        except Exception as exc:  # whatever the driver raises, the operator needs the URL and the cause
            raise MigrationError(f"cannot reach {redact_url(database_url)}: {exc}") from exc
        command = Command(config, app=APP, location=str(location))
        await command.init()
        applied: list[str] = await command.upgrade(run_in_transaction=True)
        return applied


async def pending_changes(
    models: Sequence[str] = MODEL_MODULES, location: Path = MIGRATIONS_LOCATION
) -> dict[Dialect, SchemaDiff]:
    """Per dialect, the SQL a new migration would need; empty when the migrations match the models."""
    old = recorded_state(location)
    changes: dict[Dialect, SchemaDiff] = {}
    for dialect in DIALECTS:
        diff = await _diff(dialect, old, tuple(models))
        if diff.upgrade:
            changes[dialect] = diff
    return changes


async def make_migration(
    name: str,
    models: Sequence[str] = MODEL_MODULES,
    location: Path = MIGRATIONS_LOCATION,
    now: datetime | None = None,
) -> Path | None:
    """Write the next migration for the current models; None when nothing changed."""
    if not _NAME.match(name):
        raise MigrationError(f"migration name {name!r}: use 1–60 characters from a–z, 0–9 and _")
    files = migration_files(location)
    changes = await pending_changes(models, location)
    if not changes:
        return None
    missing = [d for d in DIALECTS if d not in changes]
    if missing:
        # A change that is SQL in one dialect only (e.g. a comment) still gets a script for every dialect.
        changes.update({d: SchemaDiff() for d in missing})
    number = int(files[-1].name.split("_", 1)[0]) + 1 if files else 0
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    path = migrations_dir(location) / f"{number}_{stamp}_{name}.py"
    state = await _models_state(tuple(models))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_migration(name, changes, state), encoding="utf-8")
    return path


def render_migration(name: str, changes: dict[Dialect, SchemaDiff], models_state: dict[str, Any]) -> str:
    """The text of a migration file with one upgrade and one downgrade script per dialect."""

    def scripts(attr: str) -> str:
        lines = []
        for dialect in DIALECTS:
            statements: list[str] = getattr(changes.get(dialect, SchemaDiff()), attr)
            body = "".join(f"{s.strip().rstrip(';')};\n" for s in statements if s.strip())
            if body and dialect == "sqlite":
                # aerich runs scripts with sqlite3's executescript, which first commits aerich's transaction;
                # an explicit one keeps a failing migration from leaving half of its statements behind.
                body = f"BEGIN;\n{body}COMMIT;\n"
            lines.append(f'    "{dialect}": """\n{_escape(body)}""",')
        return "\n".join(lines)

    return _TEMPLATE.format(
        name=name,
        upgrade=scripts("upgrade"),
        downgrade=scripts("downgrade"),
        models_state=get_formatted_compressed_data(models_state),
    )


def _escape(sql: str) -> str:
    return sql.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


async def _models_state(models: tuple[str, ...]) -> dict[str, Any]:
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(_OFFLINE_URLS["sqlite"], models))
        return get_models_describe(APP)


async def _diff(dialect: Dialect, old: dict[str, Any] | None, models: tuple[str, ...]) -> SchemaDiff:
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(_OFFLINE_URLS[dialect], models))
        client = ctx.db(dialect)
        if old is None:
            return SchemaDiff(upgrade=[get_schema_sql(client, safe=False)])
        new = get_models_describe(APP)
        await _reset_aerich(dialect, client)
        last, current = Migrate._exclude_model_name_changes(copy.deepcopy(old), copy.deepcopy(new))
        # Same calls as aerich's ``Migrate.migrate``; ``no_input`` takes a field whose only change is its name
        # as a rename, as ``aerich migrate --no-input`` does.
        Migrate.diff_models(copy.deepcopy(last), copy.deepcopy(current), upgrade=True, no_input=True)
        Migrate.diff_models(copy.deepcopy(current), copy.deepcopy(last), upgrade=False, no_input=True)
        Migrate._merge_operators()
        return SchemaDiff(list(Migrate.upgrade_operators), list(Migrate.downgrade_operators))


async def _reset_aerich(dialect: Dialect, client: BaseDBAsyncClient) -> None:
    # aerich keeps its working state on the Migrate class; start every diff from a clean one.
    Migrate.app = APP
    Migrate.dialect = dialect
    Migrate._db_version = None
    Migrate.upgrade_operators = []
    Migrate.downgrade_operators = []
    Migrate._upgrade_fk_m2m_index_operators = []
    Migrate._downgrade_fk_m2m_index_operators = []
    Migrate._upgrade_m2m = []
    Migrate._downgrade_m2m = []
    Migrate._rename_fields = {}
    Migrate._rename_models = {}
    Migrate.ddl_class = await Migrate.load_ddl_class()
    Migrate.ddl = Migrate.ddl_class(client)


_TEMPLATE = '''"""Migration {name!r}: written by ``python -m app migrate --make``; SQL for each dialect."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

UPGRADE = {{
{upgrade}
}}

DOWNGRADE = {{
{downgrade}
}}


def _script(scripts: dict[str, str], db: BaseDBAsyncClient) -> str:
    dialect = db.schema_generator.DIALECT
    if dialect not in scripts:
        raise RuntimeError(f"this migration has no SQL for {{dialect!r}}, only for {{sorted(scripts)}}")
    return scripts[dialect]


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _script(UPGRADE, db)


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _script(DOWNGRADE, db)


MODELS_STATE = (
    {models_state}
)
'''
