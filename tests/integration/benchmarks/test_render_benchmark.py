"""`make bench` keeps working: a tiny render benchmark makes a 2 s video of each kind with the local
providers and prints the time of each against real time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RATIO = re.compile(r"^\*\*\d+\.\d\d×\*\*$")


def test_a_tiny_render_run_times_each_kind_of_video_against_real_time() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.render", "--seconds", "2", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rows = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.strip("|").split("|")[1:]]
        for line in run.stdout.splitlines()
        if line.startswith("| ")
    }
    for kind in ("talking head", "talking head + captions", "background + captions"):
        seconds, ratio, target, verdict, _runs, _cpu, output = rows[kind]
        assert float(seconds.strip("*")) > 0, kind
        assert RATIO.match(ratio) and target == "≤ 0.5×" and verdict in {"met", "**missed**"}, kind
        # What was timed is a real video of the asked length in the bot's format.
        assert output.startswith("720×1280, 2.0 s"), (kind, output)
