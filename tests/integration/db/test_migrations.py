"""Migrations: they build exactly the schema the models describe, on SQLite and PostgreSQL, and a model change
without a migration is caught."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise.context import TortoiseContext

from app.cli import migrate as migrate_cli
from app.db.migrations import (
    DIALECTS,
    MIGRATIONS_LOCATION,
    SchemaDiff,
    apply_migrations,
    make_migration,
    migration_files,
    migrations_dir,
    pending_changes,
    recorded_state,
    render_migration,
)
from app.db.models import LedgerEntry, User
from app.db.setup import MODEL_MODULES, close_db, dialect_of, init_db, tortoise_config
from tests.fakes.services import FixedClock

Schema = dict[str, Any]

# The field a developer "forgot" to migrate; inserted right after this line of app/db/models.py.
ANCHOR = "    balance = fields.IntField(default=0)\n"
FORGOTTEN_FIELD = "    referrer_id = fields.BigIntField(null=True)\n"


async def schema_of(url: str) -> Schema:
    """Tables → columns (type, nullability) and indexes, read back from the database itself."""
    if dialect_of(url) == "sqlite":
        return _sqlite_schema(url.removeprefix("sqlite://"))
    conn = await asyncpg.connect(url)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type, is_nullable, character_maximum_length, column_default"
            " FROM information_schema.columns WHERE table_schema = 'public'"
        )
        indexes = await conn.fetch("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'")
        comments = await conn.fetch(
            "SELECT c.relname, obj_description(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
    finally:
        await conn.close()
    schema: Schema = {}
    for row in columns:
        table = schema.setdefault(row[0], {"columns": {}, "indexes": set()})
        table["columns"][row[1]] = tuple(row[2:])
    for table, definition in indexes:
        schema[table]["indexes"].add(definition)
    for table, comment in comments:
        schema[table]["comment"] = comment
    return schema


def _sqlite_schema(path: str) -> Schema:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        schema: Schema = {}
        for table in tables:
            if table.startswith("sqlite_"):
                continue
            columns = {r[1]: (r[2], r[3], r[4], r[5]) for r in conn.execute(f'PRAGMA table_info("{table}")')}
            indexes = {
                (r[1], r[2], tuple(c[2] for c in conn.execute(f'PRAGMA index_info("{r[1]}")')))
                for r in conn.execute(f'PRAGMA index_list("{table}")')
            }
            schema[table] = {"columns": columns, "indexes": indexes}
    return schema


async def generated_schema(url: str) -> Schema:
    """The schema Tortoise itself generates from the models, on an empty database of the same dialect."""
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(url))
        await ctx.generate_schemas(safe=False)
    return await schema_of(url)


@pytest.fixture
def empty_databases(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str], Awaitable[str]]:
    """Makes one more empty database of a dialect; PostgreSQL ones for tests marked ``postgres``."""
    counter = iter(range(1000))
    # Resolved here, outside the test's event loop, and only for tests that need the server.
    needs_postgres = request.node.get_closest_marker("postgres") is not None
    postgres = request.getfixturevalue("new_postgres_database") if needs_postgres else None

    async def make(dialect: str) -> str:
        if dialect == "sqlite":
            return f"sqlite://{tmp_path}/db{next(counter)}.sqlite3"
        assert postgres is not None, "mark the test with @pytest.mark.postgres"
        return str(await postgres())

    return make


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_migrations_build_the_schema_the_models_describe(
    dialect: str, empty_databases: Callable[[str], Awaitable[str]]
) -> None:
    migrated, reference = await empty_databases(dialect), await empty_databases(dialect)

    applied = await apply_migrations(migrated)

    assert applied == [p.name for p in migration_files()]
    assert await schema_of(migrated) == await generated_schema(reference)
    assert await apply_migrations(migrated) == []


async def test_a_migrated_database_stores_and_reads_through_the_models(db: str) -> None:
    now = FixedClock().now()
    await User.create(id=7_000_000_000, first_name="Анна", locale="ru", created_at=now, last_seen_at=now)
    await LedgerEntry.create(
        user_id=7_000_000_000,
        delta=50,
        reason="welcome_bonus",
        idempotency_key="welcome:7000000000",
        balance_after=50,
        created_at=now,
    )

    user = await User.get(id=7_000_000_000).prefetch_related("ledger_entries")

    assert (user.first_name, user.is_banned, user.balance, user.created_at) == ("Анна", False, 0, now)
    assert [e.idempotency_key for e in user.ledger_entries] == ["welcome:7000000000"]


async def test_every_model_change_has_a_migration() -> None:
    changes = await pending_changes()

    assert changes == {}, (
        "models changed without a migration: run `python -m app migrate --make <name>`; missing SQL: "
        + "; ".join(s for diff in changes.values() for s in diff.upgrade)
    )


@pytest.fixture
def drifted_models(tmp_path: Path) -> Iterator[tuple[str, ...]]:
    """The project's models plus one field no migration knows, as an importable module."""
    source = (Path(__file__).resolve().parents[3] / "app/db/models.py").read_text(encoding="utf-8")
    assert source.count(ANCHOR) == 1, "update ANCHOR: the line the forgotten field goes after has changed"
    name = f"drifted_models_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(source.replace(ANCHOR, ANCHOR + FORGOTTEN_FIELD), encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        yield (name, "aerich.models")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


async def test_a_field_added_without_a_migration_is_caught(drifted_models: tuple[str, ...]) -> None:
    changes = await pending_changes(models=drifted_models)

    assert set(changes) == set(DIALECTS)
    for dialect, diff in changes.items():
        assert any('ADD "referrer_id" BIGINT' in s for s in diff.upgrade), (dialect, diff.upgrade)
        assert any('DROP COLUMN "referrer_id"' in s for s in diff.downgrade), (dialect, diff.downgrade)


@pytest.mark.postgres
async def test_a_made_migration_applies_on_both_dialects(
    drifted_models: tuple[str, ...], tmp_path: Path, empty_databases: Callable[[str], Awaitable[str]]
) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_LOCATION, location, ignore=shutil.ignore_patterns("__pycache__"))

    path = await make_migration("add_referrer", models=drifted_models, location=location)

    assert path is not None and path.name.startswith(f"{len(migration_files())}_")
    assert await pending_changes(models=drifted_models, location=location) == {}
    assert await make_migration("again", models=drifted_models, location=location) is None
    for dialect in ("sqlite", "postgres"):
        url = await empty_databases(dialect)
        assert await apply_migrations(url, location) == [p.name for p in migration_files(location)]
        assert "referrer_id" in (await schema_of(url))["users"]["columns"]


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_failing_migration_leaves_nothing_half_applied(
    dialect: str, tmp_path: Path, empty_databases: Callable[[str], Awaitable[str]]
) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_LOCATION, location, ignore=shutil.ignore_patterns("__pycache__"))
    good, bad = 'ALTER TABLE "users" ADD "nickname" VARCHAR(20)', 'ALTER TABLE "no_such_table" ADD "x" INT'
    broken = render_migration(
        "broken", {d: SchemaDiff([good, bad]) for d in DIALECTS}, recorded_state(location) or {}
    )
    (migrations_dir(location) / f"{len(migration_files())}_20261124000001_broken.py").write_text(broken)
    url = await empty_databases(dialect)
    await apply_migrations(url)
    before = await schema_of(url)

    with pytest.raises(Exception, match="no_such_table"):
        await apply_migrations(url, location)

    assert await schema_of(url) == before


async def test_the_cli_migrates_database_url_and_checks_the_models(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)

    assert await _run_cli([]) == 0
    assert await _run_cli([]) == 0
    assert await _run_cli(["--check"]) == 0

    out = capsys.readouterr().out
    assert f"applied {migration_files()[0].name}" in out
    assert "the database is up to date" in out
    assert "migrations match the models" in out
    await init_db(sqlite_url)
    try:
        assert await User.all().count() == 0
    finally:
        await close_db()


async def _run_cli(argv: list[str]) -> int:
    # The CLI runs its own event loop, which cannot start inside the test's loop: give it a thread.
    return await asyncio.to_thread(migrate_cli.main, argv)


def test_the_app_loads_its_models_and_aerich_state_from_one_app() -> None:
    config = tortoise_config("sqlite://:memory:")
    assert config["apps"]["models"]["models"] == list(MODEL_MODULES)
    assert "aerich.models" in MODEL_MODULES
