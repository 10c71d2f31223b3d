"""Without a PostgreSQL server, PostgreSQL tests fail loudly and name the fix instead of being skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_postgres_tests_fail_with_the_fix_when_the_server_is_down() -> None:
    env = {**os.environ, "TEST_DATABASE_URL": "postgres://ugcbot:ugcbot@127.0.0.1:9/ugcbot_test"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-header",
            "tests/integration/db/test_ledger.py",
            "-k",
            "postgres and history",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 1, run.stdout + run.stderr
    assert "PostgreSQL is not running: run scripts/ensure-postgres.sh or make test" in run.stdout
    assert "1 error" in run.stdout and "skipped" not in run.stdout
