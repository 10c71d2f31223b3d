"""Local render speed: a 15 s 720×1280 video with captions on this machine, against real time.

``python -m benchmarks.render [--seconds S] [--repeat N] [--write FILE.md]`` — see docs/benchmarks.md.

The speech is espeak-ng's (``LocalSpeech``), padded or cut to exactly ``--seconds``. Each repetition renders
what the local providers do for one generation, one step after the other like the pipeline does:
talking head (``LocalVideoMaker.make`` of a catalog portrait), its captions (``StyledCaptioner`` with the
default style of catalog/captions.yaml), and the background format — the portrait on a green backdrop
(``LocalImageEditor``), its talking video, ``FfmpegCompositor`` over a generated 1080×1920 phone-like clip,
captions. Each case is reported as the median over the repetitions and as a share of the video's length.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from app.jobs.captions import build_captioner
from app.jobs.pipeline import GREEN_SCREEN_PROMPT
from app.services.catalog import Catalog
from app.services.image.local import LocalImageEditor
from app.services.media_probe import MediaInfo, probe
from app.services.providers import WordTiming
from app.services.speech.local import LocalSpeech, estimate_word_timings
from app.services.video.compose import FfmpegCompositor
from app.services.video.local import LocalVideoMaker
from benchmarks.results import children_cpu_seconds, machine_line, tool_version, write_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "render"
TARGET = 0.5  # render time / video length
CHARACTER = "anna"
VOICE = "ru_alisa"
SENTENCE = (
    "Попробуйте наш новый кофе: он бодрит утром, согревает днём и радует вечером. "
    "Закажите сегодня и получите вторую пачку в подарок."
)
BACKGROUND = "1080x1920"  # what a phone records upright
BACKGROUND_FPS = 30
BACKGROUND_SECONDS = 10.0  # shorter than the speech: the compositor loops it, like a short user clip

HEAD = "talking head"
HEAD_CAPTIONS = "talking head + captions"
BACKGROUND_CAPTIONS = "background + captions"
CASES: dict[str, tuple[str, ...]] = {
    HEAD: ("talking video",),
    HEAD_CAPTIONS: ("talking video", "captions"),
    BACKGROUND_CAPTIONS: ("green backdrop", "talking video (green)", "composite", "captions (background)"),
}
STAGES = (
    "talking video",
    "captions",
    "green backdrop",
    "talking video (green)",
    "composite",
    "captions (background)",
)

T = TypeVar("T")


@dataclass
class Timings:
    """Per stage, the wall and child-process CPU seconds of every repetition."""

    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    outputs: dict[str, MediaInfo] = field(default_factory=dict)

    async def time(self, stage: str, work: Callable[[], Awaitable[T]]) -> T:
        cpu, started = _cpu(), time.perf_counter()
        result = await work()
        self.wall.setdefault(stage, []).append(time.perf_counter() - started)
        self.cpu.setdefault(stage, []).append(_cpu() - cpu)
        return result

    def case(self, name: str) -> tuple[list[float], list[float]]:
        """Wall and CPU seconds of each repetition of a case: the sum of its stages."""
        stages = CASES[name]
        runs = len(self.wall[stages[0]])
        wall = [sum(self.wall[s][i] for s in stages) for i in range(runs)]
        cpu = [sum(self.cpu[s][i] for s in stages) for i in range(runs)]
        return wall, cpu


def _cpu() -> float:
    """CPU seconds of this process (Pillow, in a thread) and of its finished children (ffmpeg, ffprobe)."""
    return time.process_time() + children_cpu_seconds()


async def speech_of(seconds: float, workdir: Path) -> Path:
    """espeak-ng reading the ad, padded or cut to exactly ``seconds``."""
    catalog = Catalog.load(ROOT / "catalog", ("ru", "en"), "ru")
    voice = catalog.voice(VOICE)
    if voice is None:
        raise SystemExit(f"catalog/voices.yaml has no voice {VOICE!r}")
    text = SENTENCE
    while len(text) < 16 * seconds:  # espeak-ng's Russian voice reads about 13 characters a second
        text += " " + SENTENCE
    take = await LocalSpeech().synthesize(text, voice.params("ru"), workdir=workdir)
    speech = workdir / "speech.wav"
    _ffmpeg("-i", str(take.wav), "-af", "apad", "-t", f"{seconds:.3f}", str(speech))
    return speech


def background_clip(path: Path, seconds: float) -> Path:
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={BACKGROUND}:rate={BACKGROUND_FPS}",
        "-f", "lavfi", "-i", "anoisesrc=amplitude=0.05", "-t", f"{seconds:.3f}",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", *args], check=True, timeout=300)


@dataclass(frozen=True)
class Inputs:
    still: Path
    speech: Path
    words: tuple[WordTiming, ...]
    background: Path


async def run(workdir: Path, seconds: float, repeat: int) -> Timings:
    speech = await speech_of(seconds, workdir)
    inputs = Inputs(
        still=ROOT / "catalog" / "characters" / f"{CHARACTER}.jpg",
        speech=speech,
        words=estimate_word_timings(" ".join([SENTENCE] * max(1, round(seconds / 8))), seconds),
        background=background_clip(workdir / "background.mp4", min(seconds, BACKGROUND_SECONDS)),
    )
    timings = Timings()
    for index in range(repeat):
        print(f"  repetition {index + 1}/{repeat} …", file=sys.stderr)
        await one_generation(inputs, timings, workdir / f"run-{index}")
    return timings


async def one_generation(inputs: Inputs, timings: Timings, folder: Path) -> None:
    """Every local render step of a talking-head and of a background generation, each timed."""
    await asyncio.to_thread(folder.mkdir)
    maker, compositor, editor = LocalVideoMaker(), FfmpegCompositor(), LocalImageEditor()
    captioner = build_captioner(ROOT / "catalog" / "captions.yaml")
    still, speech, words = inputs.still, inputs.speech, inputs.words
    head = await timings.time(
        "talking video", lambda: maker.make(still, speech, background=None, workdir=folder)
    )
    captioned = await timings.time("captions", lambda: captioner.burn(head.path, words, None, workdir=folder))
    green = await timings.time(
        "green backdrop", lambda: editor.edit(still, GREEN_SCREEN_PROMPT, workdir=folder)
    )
    talking = await timings.time(
        "talking video (green)", lambda: maker.make(green.path, speech, background=None, workdir=folder)
    )
    composite = await timings.time(
        "composite", lambda: compositor.composite(talking.path, inputs.background, workdir=folder)
    )
    final = await timings.time(
        "captions (background)", lambda: captioner.burn(composite.path, words, None, workdir=folder)
    )
    timings.outputs = {
        HEAD: await probe(head.path),
        HEAD_CAPTIONS: await probe(captioned),
        BACKGROUND_CAPTIONS: await probe(final),
    }


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _output(info: MediaInfo) -> str:
    return f"{info.width}×{info.height}, {info.duration or 0:.1f} s, {info.size / 1e6:.1f} MB"


def report(t: Timings, seconds: float, repeat: int) -> str:
    lines = [
        f"A {seconds:g} s 720×1280 video (25 fps, libx264 veryfast CRF 23, AAC), "
        f"{repeat} repetition{'s' if repeat > 1 else ''}; seconds are the median, "
        f"× real time = seconds / {seconds:g} s. CPU s is the user + system time of ffmpeg and ffprobe and "
        "of this process (Pillow): about twice the wall time when both cores are busy.",
        "",
        "| | seconds | × real time | target | verdict | every run, s | CPU s | output |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in CASES:
        wall, cpu = t.case(name)
        median = statistics.median(wall)
        ratio = median / seconds
        runs = ", ".join(f"{w:.1f}" for w in wall)
        lines.append(
            f"| {name} | **{median:.1f}** | **{ratio:.2f}×** | ≤ {TARGET:g}× | {_verdict(ratio <= TARGET)} | "
            f"{runs} | {statistics.median(cpu):.1f} | {_output(t.outputs[name])} |"
        )
    lines += ["", "| stage | seconds | × real time | CPU s |", "|---|---|---|---|"]
    for stage in STAGES:
        median = statistics.median(t.wall[stage])
        lines.append(
            f"| {stage} | {median:.2f} | {median / seconds:.2f}× | {statistics.median(t.cpu[stage]):.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.render", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the video (default 15)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="repetitions; the median is reported (default 3)"
    )
    parser.add_argument("--write", type=Path, help="rewrite the render results section of this Markdown file")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.repeat < 1:
        parser.error("--seconds must be positive and --repeat at least 1")
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        timings = asyncio.run(run(Path(tmp), args.seconds, args.repeat))
    extra = (
        f"ffmpeg {tool_version(['ffmpeg', '-version'], 'version')} · "
        f"espeak-ng {tool_version(['espeak-ng', '--version'], 'text-to-speech:')}"
    )
    text = (
        f"### Local render: a {args.seconds:g} s video with captions\n\n"
        f"{machine_line(extra, load_before)}\n\n{report(timings, args.seconds, args.repeat)}\n\n"
        f"Whole run: {time.perf_counter() - started:.0f} s."
    )
    print(text)
    if args.write is not None:
        write_section(args.write, SECTION, text)
        print(f"\nresults written to {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
