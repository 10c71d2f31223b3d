"""`make bench` keeps working: a tiny pipeline benchmark runs 20 generations to DONE through one arq worker,
prints its table with a verdict for every target, and rewrites only its own section of the results file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from benchmarks.results import end_marker, start_marker

ROOT = Path(__file__).resolve().parents[3]
NUMBER = re.compile(r"\d+(\.\d+)?")


def cells(stdout: str, row: str) -> list[str]:
    line = next((line for line in stdout.splitlines() if line.startswith(f"| {row} |")), None)
    assert line is not None, f"no row {row!r} in:\n{stdout}"
    return [cell.strip() for cell in line.strip("|").split("|")[1:]]


def test_a_tiny_pipeline_run_reports_every_target_and_its_baseline(tmp_path: Path) -> None:
    results = tmp_path / "benchmarks.md"
    results.write_text(
        f"# Benchmarks\n\nThe clicks section stays.\n\n{start_marker('pipeline')}\nold numbers\n"
        f"{end_marker('pipeline')}\n\nText after the section stays too.\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [
            sys.executable, "-m", "benchmarks.pipeline",
            "--generations", "20", "--latency", "0.2-0.5", "--poll", "0.2", "--write", str(results),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )  # fmt: skip
    # The run exits non-zero unless every generation is DONE and was delivered.
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "20 generations (10 background, 10 talking head, all captioned)" in run.stdout
    assert cells(run.stdout, "generations DONE and delivered") == ["20 of 20", "all", "met"]
    for row in ("pipeline overhead per generation, median", "worker process peak RSS"):
        measured, target, verdict = cells(run.stdout, row)
        assert NUMBER.search(measured) and target.startswith("≤"), row
        assert verdict in {"met", "**missed**"}, row
    assert NUMBER.search(cells(run.stdout, "Redis commands per job")[0])
    pipeline, baseline = cells(run.stdout, "overhead")
    assert NUMBER.match(pipeline) and NUMBER.match(baseline)

    written = results.read_text(encoding="utf-8")
    assert "old numbers" not in written
    assert "The clicks section stays." in written and "Text after the section stays too." in written
    assert "### Generation pipeline: 20 generations in one arq worker" in written
