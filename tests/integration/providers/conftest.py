"""Real media for the local providers' tests: clips, tones and portraits from ffmpeg and Pillow, made once."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from app.services.storage.s3 import S3Storage
from app.services.video.local import HEIGHT, WIDTH
from tests.support.s3 import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

BACKDROP_TOP = (205, 214, 228)
BACKDROP_BOTTOM = (168, 178, 198)
SKIN = (228, 186, 154)
SHIRT = (60, 70, 120)
FACE_CENTRE = (360, 505)
BANDS = ("red", "blue", "yellow")
BAND_RGB = {"red": (255, 0, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0)}

for tool in ("ffmpeg", "ffprobe", "espeak-ng"):
    if shutil.which(tool) is None:  # pragma: no cover - the bootstrap installs them
        pytest.fail(f"{tool} is not installed: run make bootstrap", pytrace=False)


def run(args: Sequence[str]) -> bytes:
    return subprocess.run(list(args), check=True, capture_output=True, timeout=120).stdout


def ffprobe_json(path: Path) -> dict[str, object]:
    """What ffprobe, independently of the code under test, says about a file."""
    out = run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)])
    data: dict[str, object] = json.loads(out)
    return data


def streams(path: Path, kind: str) -> list[dict[str, object]]:
    all_streams = ffprobe_json(path)["streams"]
    assert isinstance(all_streams, list)
    return [s for s in all_streams if s["codec_type"] == kind]


def container_duration(path: Path) -> float:
    fmt = ffprobe_json(path)["format"]
    assert isinstance(fmt, dict)
    return float(fmt["duration"])


def frame_at(path: Path, seconds: float) -> Image.Image:
    """The decoded video frame shown at ``seconds``, as an RGB image."""
    info = streams(path, "video")[0]
    width, height = int(str(info["width"])), int(str(info["height"]))
    raw = run([
        "ffmpeg", "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(path), "-frames:v", "1",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ])  # fmt: skip
    return Image.frombytes("RGB", (width, height), raw[: width * height * 3])


def clip(
    path: Path, seconds: float, *, size: str = "320x240", rate: int = 25, extra: Sequence[str] = ()
) -> Path:
    """A test-pattern video with a moving picture and a running clock (so loops and cuts are visible)."""
    run([
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
        "-t", str(seconds), *extra, str(path),
    ])  # fmt: skip
    return path


def h264_clip(path: Path, seconds: float, *, size: str = "320x240", rate: int = 25) -> Path:
    codec = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    return clip(path, seconds, size=size, rate=rate, extra=codec)


def colour_bands(path: Path, colours: Sequence[str], *, size: str = "640x360") -> Path:
    """A video showing each colour for one second: which second is on screen can be read off any frame."""
    sources = ";".join(f"color=c={c}:size={size}:rate=25:duration=1[c{i}]" for i, c in enumerate(colours))
    joined = "".join(f"[c{i}]" for i in range(len(colours)))
    run([
        "ffmpeg", "-v", "error", "-y", "-filter_complex", f"{sources};{joined}concat=n={len(colours)}[v]",
        "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    ])  # fmt: skip
    return path


def tone(path: Path, seconds: float) -> Path:
    """A WAV standing in for speech whose exact length the test knows."""
    run([
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=22050",
        "-t", str(seconds), "-ac", "1", str(path),
    ])  # fmt: skip
    return path


def portrait(
    path: Path, *, size: tuple[int, int] = (WIDTH, HEIGHT), backdrop: tuple[int, int, int] | None = None
) -> Path:
    """A studio-style portrait like the catalog's: a soft vertical gradient (or a flat colour), a person."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        top, bottom = (backdrop, backdrop) if backdrop else (BACKDROP_TOP, BACKDROP_BOTTOM)
        draw.line(
            [(0, y), (width, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    sx, sy = width / WIDTH, height / HEIGHT

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (x0 * sx, y0 * sy, x1 * sx, y1 * sy)

    draw.ellipse(box(110, 820, 610, 1500), fill=SHIRT)
    draw.rectangle(box(300, 640, 420, 860), fill=SKIN)
    draw.ellipse(box(230, 330, 490, 680), fill=SKIN)
    draw.chord(box(215, 300, 505, 560), 180, 360, fill=(70, 45, 30))
    image.save(path, quality=92)
    return path


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of ready-made inputs shared by the provider tests (made once: ffmpeg is the slow part)."""
    root = tmp_path_factory.mktemp("media")
    h264_clip(root / "clip3.mp4", 3)
    colour_bands(root / "bands3.mp4", BANDS)  # landscape: the maker must crop it to fill 9:16
    h264_clip(root / "clip16.mp4", 16, size="180x320", rate=10)
    tone(root / "speech5.wav", 5.0)
    portrait(root / "portrait.jpg")
    portrait(root / "green.jpg", backdrop=(0, 177, 64))
    return root


@pytest.fixture
async def bucket(s3_endpoint: str) -> AsyncIterator[S3Storage]:
    """An S3 bucket of its own on the session's moto server: where presigned fal inputs are kept."""
    async with S3Storage(
        s3_endpoint,
        f"fal-{uuid.uuid4().hex[:20]}",
        TEST_ACCESS_KEY_ID,
        TEST_SECRET_ACCESS_KEY,
        read_timeout=10,
        max_attempts=1,
    ) as storage:
        await storage.ensure_bucket()
        yield storage
