"""Files a user might send as a background: made by ffmpeg once per session, small so that tests stay fast."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def run(args: list[str]) -> bytes:
    return subprocess.run(args, check=True, capture_output=True, timeout=120).stdout


def ffprobe(path: Path) -> dict[str, Any]:
    """What ffprobe says about a file, independently of the code under test."""
    out = run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)])
    data: dict[str, Any] = json.loads(out)
    return data


def _clip(path: Path, seconds: float, size: str, rate: int) -> Path:
    run([
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    ])  # fmt: skip
    return path


@dataclass(frozen=True)
class Media:
    background: bytes  # 3 s, 360×640 H.264 MP4: a fine background
    long: bytes  # 16 s: one second over the limit
    corrupt: (
        bytes  # the first half of an MP4 whose index sits at its end: it starts like a video, plays nothing
    )
    text: bytes  # a text file, to be sent under a video's name
    huge: bytes  # a real MP4 padded to 30 MB


def make_media(folder: Path) -> Media:
    background = _clip(folder / "background.mp4", 3, "360x640", 25).read_bytes()
    long = _clip(folder / "long.mp4", 16, "144x256", 10).read_bytes()
    corrupt = background[: len(background) // 2]
    text = ("This is not a video, it is a shopping list.\n" * 40).encode()
    huge = background + b"\0" * (30 * 1024 * 1024 - len(background))
    return Media(background=background, long=long, corrupt=corrupt, text=text, huge=huge)
