"""PostgreSQL for tests: the server of ``TEST_DATABASE_URL`` (``make test`` starts a local cluster)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

DEFAULT_TEST_DATABASE_URL = "postgres://ugcbot:ugcbot@127.0.0.1:5432/ugcbot_test"
NOT_RUNNING = "PostgreSQL is not running: run scripts/ensure-postgres.sh or make test"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
