"""`make bench` keeps working: a tiny admin stats benchmark seeds 500 users and 1,000 videos, prints the
snapshot's timings with a verdict and the baseline ratio, and rewrites only its own section of the file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.results import end_marker, start_marker

ROOT = Path(__file__).resolve().parents[3]
NUMBER = re.compile(r"\d+(\.\d+)? ms")


def cells(section: str, row: str) -> list[str]:
    line = next((line for line in section.splitlines() if line.startswith(f"| {row} |")), None)
    assert line is not None, f"no row {row!r} in:\n{section}"
    return [cell.strip() for cell in line.strip("|").split("|")[1:]]


def run_benchmark(results: Path, database: str) -> str:
    results.write_text(
        f"# Benchmarks\n\nThe clicks section stays.\n\n{start_marker('stats')}\nold numbers\n"
        f"{end_marker('stats')}\n\nText after the section stays too.\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [
            sys.executable, "-m", "benchmarks.stats",
            "--users", "500", "--generations", "1000", "--runs", "2", "--database", database,
            "--write", str(results),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ.copy(),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def check_database(stdout: str, heading: str) -> None:
    assert heading in stdout, stdout
    section = stdout.split(heading, 1)[1].split("#### ", 1)[0]
    assert "500 users, 1,000 generations" in section
    for row in ("snapshot, cold (first on fresh connections)", "snapshot, warm (median of 2)"):
        indexed, baseline, target, verdict = cells(section, row)
        assert NUMBER.search(indexed) and NUMBER.search(baseline) and target == "≤ 1 s", row
        assert verdict in {"met", "**missed**"}, row
    assert re.fullmatch(r"\*\*\d+\.\d×\*\*", cells(section, "baseline ÷ indexed, warm median")[1])
    # Every windowed query shows how the database read it, from an index.
    plan = cells(section, "videos by day (14 d)")[2]
    assert "idx_generations_created" in plan, plan


def test_a_tiny_sqlite_run_prints_the_snapshot_table_and_writes_only_its_section(tmp_path: Path) -> None:
    results = tmp_path / "benchmarks.md"
    stdout = run_benchmark(results, "sqlite")

    assert "### Admin stats: one snapshot of 500 users and 1,000 videos" in stdout
    check_database(stdout, "#### SQLite:")
    written = results.read_text(encoding="utf-8")
    assert "old numbers" not in written
    assert "The clicks section stays." in written and "Text after the section stays too." in written
    assert "#### SQLite:" in written and written.count(start_marker("stats")) == 1


@pytest.mark.postgres
def test_a_tiny_run_on_both_databases_reports_each(tmp_path: Path) -> None:
    stdout = run_benchmark(tmp_path / "benchmarks.md", "both")

    check_database(stdout, "#### SQLite:")
    check_database(stdout, "#### PostgreSQL:")
