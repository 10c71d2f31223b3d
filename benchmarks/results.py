"""Shared by the pipeline and render benchmarks: a section of docs/benchmarks.md, percentiles, the machine."""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import resource
import subprocess
from collections.abc import Sequence
from pathlib import Path


def start_marker(name: str) -> str:
    return f"<!-- {name}:start (written by `make bench`) -->"


def end_marker(name: str) -> str:
    return f"<!-- {name}:end -->"


def write_section(path: Path, name: str, text: str) -> None:
    """Replace the ``name`` results block of ``path`` (between its markers), or append one if it has none."""
    start, end = start_marker(name), end_marker(name)
    block = f"{start}\n{text}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in old and end in old:
        head, rest = old.split(start, 1)
        new = head + block + rest.split(end, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new, encoding="utf-8")


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of a non-empty sample."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def peak_rss_mib() -> float:
    """The peak resident set size of this process so far (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_cpu_seconds() -> float:
    """CPU time of the finished child processes this process waited for (ffmpeg, ffprobe, espeak-ng)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tool_version(argv: Sequence[str], prefix: str) -> str:
    """The word after ``prefix`` in the first line a tool prints for its version (``?`` when absent)."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    words = out.split()
    for index, word in enumerate(words[:-1]):
        if word == prefix:
            return words[index + 1]
    return next((w.removeprefix(prefix) for w in words if w.startswith(prefix)), "?")


def machine_line(extra: str, load_before: float) -> str:
    """Date, CPUs, Python, the caller's versions, and the load average seen before the run."""
    return (
        f"{dt.date.today().isoformat()} · {os.cpu_count()} CPUs ({cpu_model()}) · "
        f"Python {platform.python_version()} · {extra} · "
        f"1-minute load average before the run {load_before:.2f}"
    )
