"""`make bench` keeps working: a tiny run compares both sides on the same screens and prints the table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_tiny_benchmark_run_prints_both_sides_and_the_ratio() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.clicks", "--clicks", "20", "--rounds", "2", "--users", "4"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Ratio hand-written / YAML" in run.stdout
    # Same locking and the same Bot API work on both sides, or the comparison would be meaningless.
    for row in ("| Redis commands per click |", "| Bot API calls per click |"):
        line = next(line for line in run.stdout.splitlines() if line.startswith(row))
        yaml_side, hand_side = (cell.strip() for cell in line.split("|")[2:4])
        assert yaml_side == hand_side != "", line
