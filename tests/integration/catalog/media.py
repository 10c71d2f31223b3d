"""What ffprobe says about an audio file, and running the catalog's scripts as an operator would."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True, slots=True)
class AudioFacts:
    codec: str
    channels: int
    sample_rate: int
    duration: float


def probe_audio(path: Path) -> AudioFacts:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(result.stdout)
    (stream,) = info["streams"]
    return AudioFacts(
        codec=stream["codec_name"],
        channels=int(stream["channels"]),
        sample_rate=int(stream["sample_rate"]),
        duration=float(info["format"]["duration"]),
    )


def run_script(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python scripts/<name> ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
