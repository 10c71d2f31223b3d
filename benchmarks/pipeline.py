"""1,000 generations in flight in one arq worker: pipeline overhead, worker memory, Redis commands per job.

``python -m benchmarks.pipeline [--generations N] [--latency A-B] [--poll S] [--concurrency C] [--seed N]
[--profile] [--write FILE.md]``
— see docs/benchmarks.md for the method and the recorded results.

Everything but the providers is real: the arq worker of ``app.jobs.worker.build_worker`` (with heartbeats,
reaper and cleanup), ``Pipeline`` with ``Generations``/``StepLog`` on a migrated SQLite file, ``LocalStorage``
in a temporary directory and a throw-away redis-server. The talking-video provider finishes each request a
random (seeded) time after it was submitted, 10–60 s by default; the backdrop editor, compositor and captioner
copy small files made once with ffmpeg; the delivery asks ``RedisThrottle`` like ``DialogDelivery`` does and
records instead of calling Telegram. The same generations first run through the same worker with a poll-only
job (submit, then collect every ``poll`` seconds until ready): what waiting for a provider costs by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiosqlite
from arq.connections import ArqRedis
from arq.worker import Worker
from PIL import Image
from redis.asyncio import Redis

from app.db.migrations import apply_migrations
from app.db.setup import close_db, connection, init_db
from app.domain.credits import LedgerReason
from app.domain.generations import Draft, GenerationInfo, GenerationStatus
from app.domain.pricing import VideoFormat
from app.domain.steps import Phase, Step
from app.jobs.delivery import CHAT_ACTION_INTERVAL, PROGRESS_EDIT_INTERVAL
from app.jobs.heartbeat import Heartbeats
from app.jobs.pipeline import Delivered, FinalVideo, Pipeline
from app.jobs.queue import ArqJobQueue, render_job_id
from app.jobs.scheduled import Reaper, TempCleanup
from app.jobs.worker import WorkerConfig, WorkerParts, build_worker, worker_running
from app.logs import setup_logging
from app.services.catalog import Catalog
from app.services.clock import SystemClock
from app.services.generations import Generations
from app.services.ledger import Ledger
from app.services.pricing import load_pricing
from app.services.providers import EditedImage, RenderedVideo, WordTiming
from app.services.steps import StepLog
from app.services.storage.keys import draft_key
from app.services.storage.local import LocalStorage
from app.services.throttle import RedisThrottle
from app.services.users import UserService
from benchmarks.results import (
    children_cpu_seconds,
    machine_line,
    peak_rss_mib,
    percentile,
    tool_version,
    write_section,
)
from tests.support.servers import redis_server

ROOT = Path(__file__).resolve().parents[1]
SECTION = "pipeline"
OVERHEAD_TARGET = 1.0  # seconds, median
RSS_TARGET = 300.0  # MiB, peak of the worker process
SAMPLE_SECONDS = 2.0
CREDITS = 50  # the welcome bonus of catalog/pricing.yaml: enough for one video of either format
CHARACTER = "anna"
VOICE = "ru_alisa"
SCRIPT = "Попробуйте наш новый кофе — утром он бодрит лучше будильника."
FIRST_USER_ID = 500_001
GREEN = (0, 177, 64)
RENDER_JOB = render_job_id(0).removesuffix("0")  # "generation:"
# What --profile lists by cumulative time: the app, the worker and the clients it talks through.
PROFILED = (
    r"/app/|arq/worker|aiosqlite/core|tortoise/backends|redis/asyncio/client|asyncio/(subprocess|unix_events)"
)


@dataclass
class Request:
    submitted: float
    ready: float
    collected: float | None = None
    polls: int = 0

    @property
    def latency(self) -> float:
        return self.ready - self.submitted


class SlowTalkingVideo:
    """``TalkingVideoMaker`` whose requests finish a seeded random latency after submit; nothing renders."""

    name = "bench"

    def __init__(self, sample: Path, latency: tuple[float, float], seed: int) -> None:
        self._sample = sample
        self._latency = latency
        self._random = random.Random(seed)
        self.requests: dict[str, Request] = {}

    async def submit(self, image: Path, speech: Path, *, workdir: Path, reference: str = "") -> str:
        request_id = f"bench-{len(self.requests) + 1}"
        now = time.monotonic()
        self.requests[request_id] = Request(now, now + self._random.uniform(*self._latency))
        return request_id

    async def collect(self, request_id: str, *, workdir: Path) -> RenderedVideo | None:
        request = self.requests[request_id]
        request.polls += 1
        now = time.monotonic()
        if now < request.ready:
            return None
        if request.collected is None:
            request.collected = now
        # The "download" of the finished video: a copy, like a provider client writing the file it fetched.
        path = await _copy_into(self._sample, workdir, "talking")
        return RenderedVideo(path, SAMPLE_SECONDS, 720, 1280, self.name)


class CopiedBackdrop:
    """``ImageEditor`` that hands back a flat green picture at once."""

    name = "bench"

    def __init__(self, green: Path) -> None:
        self._green = green

    async def edit(self, image: Path, prompt: str, *, workdir: Path) -> EditedImage:
        return EditedImage(await _copy_into(self._green, workdir, "backdrop"), "green backdrop", self.name)


class CopiedVideo:
    """Compositor and captioner in one: the result is a copy of a small real MP4."""

    def __init__(self, sample: Path) -> None:
        self._sample = sample

    async def composite(self, talking: Path, background: Path, *, workdir: Path) -> RenderedVideo:
        return RenderedVideo(
            await _copy_into(self._sample, workdir, "composite"), SAMPLE_SECONDS, 720, 1280, "bench"
        )

    async def burn(
        self, video: Path, words: Sequence[WordTiming], style: str | None, *, workdir: Path
    ) -> Path:
        return await _copy_into(video, workdir, "captioned")


async def _copy_into(source: Path, workdir: Path, stem: str) -> Path:
    target = workdir / f"{stem}-{os.urandom(4).hex()}{source.suffix}"
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(shutil.copyfile, source, target)
    return target


@dataclass
class RecordingDelivery:
    """The ``Delivery`` of the benchmark: ``DialogDelivery``'s Redis throttle, then a record, not Telegram."""

    throttle: RedisThrottle
    asked: Counter[str] = field(default_factory=Counter)
    allowed: Counter[str] = field(default_factory=Counter)
    delivered: dict[int, int] = field(default_factory=dict)

    async def progress(self, info: GenerationInfo, phase: Phase) -> None:
        self.asked["progress"] += 1
        if await self.throttle.allow(f"progress:{info.user_id}", PROGRESS_EDIT_INTERVAL):
            self.allowed["progress"] += 1

    async def working(self, info: GenerationInfo) -> None:
        self.asked["working"] += 1
        if await self.throttle.allow(f"action:{info.user_id}", CHAT_ACTION_INTERVAL):
            self.allowed["working"] += 1

    async def deliver(self, info: GenerationInfo, video: FinalVideo) -> Delivered:
        self.delivered[info.id] = video.size
        return Delivered(video_file_id=f"bench-video-{info.id}", audio_file_id=None)

    async def failed(self, info: GenerationInfo) -> None:
        self.asked["failed"] += 1


class SqlStatements:
    """Every SQL statement SQLite runs, by its first word (SQLite's trace callback: nothing is patched)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, statement: str) -> None:
        self.counts[statement.split(None, 1)[0].upper() if statement.strip() else "?"] += 1

    async def attach(self) -> None:
        """Trace the one connection Tortoise opened (its aiosqlite thread runs the callback)."""
        raw = getattr(connection(), "_connection", None)
        if not isinstance(raw, aiosqlite.Connection):
            raise SystemExit("the benchmark counts SQL statements on SQLite through aiosqlite only")
        await raw.set_trace_callback(self)

    def snapshot(self) -> Counter[str]:
        return Counter(self.counts)


class TimedGenerations(Generations):
    """``Generations`` that notes when each generation was taken up, completed or failed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.taken_up: dict[int, float] = {}
        self.completed: dict[int, float] = {}
        self.failures: dict[int, str] = {}

    async def take_up(self, generation_id: int) -> GenerationInfo:
        self.taken_up.setdefault(generation_id, time.monotonic())
        return await super().take_up(generation_id)

    async def complete(
        self,
        generation_id: int,
        *,
        video_key: str,
        audio_key: str,
        thumb_key: str | None = None,
        width: int | None = None,
        height: int | None = None,
        seconds: float | None = None,
    ) -> GenerationInfo:
        info = await super().complete(
            generation_id,
            video_key=video_key,
            audio_key=audio_key,
            thumb_key=thumb_key,
            width=width,
            height=height,
            seconds=seconds,
        )
        self.completed.setdefault(generation_id, time.monotonic())
        return info

    async def fail(self, generation_id: int, reason: str, *, detail: str | None = None) -> GenerationInfo:
        self.failures[generation_id] = f"{reason}: {detail}"
        return await super().fail(generation_id, reason, detail=detail)


@dataclass
class PollOnlyPipeline(Pipeline):
    """The baseline job: submit to the provider, collect every ``poll_interval`` until ready; nothing else."""

    inputs: tuple[Path, Path] | None = None
    started: dict[int, float] = field(default_factory=dict)
    finished: dict[int, float] = field(default_factory=dict)
    request_of: dict[int, str] = field(default_factory=dict)

    async def run(self, generation_id: int) -> None:
        if self.inputs is None:
            raise RuntimeError("PollOnlyPipeline needs its inputs")
        self.started[generation_id] = time.monotonic()
        work = self.scratch_dir / "baseline" / str(generation_id)
        request_id = await self.video_maker.submit(*self.inputs, workdir=work)
        self.request_of[generation_id] = request_id
        while await self.video_maker.collect(request_id, workdir=work) is None:
            await self.sleep(self.poll_interval)
        self.finished[generation_id] = time.monotonic()
        await asyncio.to_thread(shutil.rmtree, work, True)


@dataclass
class Samples:
    video: Path
    wav: Path
    ogg: Path
    green: Path

    @classmethod
    def make(cls, folder: Path) -> Samples:
        """A 2 s 720×1280 H.264/AAC clip (166 kB), a 2 s WAV and OGG/Opus, a flat green PNG; made once."""
        folder.mkdir(parents=True, exist_ok=True)
        samples = cls(
            folder / "sample.mp4", folder / "speech.wav", folder / "speech.ogg", folder / "green.png"
        )
        seconds = str(SAMPLE_SECONDS)
        _ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=size=720x1280:rate=25", "-f", "lavfi", "-i", "sine=frequency=220",
            "-t", seconds, "-c:v", "libx264", "-preset", "veryfast", "-crf", "35", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(samples.video),
        )  # fmt: skip
        _ffmpeg("-f", "lavfi", "-i", "sine=frequency=220", "-t", seconds, "-ac", "1", "-ar", "24000",
                str(samples.wav))  # fmt: skip
        _ffmpeg("-i", str(samples.wav), "-c:a", "libopus", "-b:a", "32k", str(samples.ogg))
        Image.new("RGB", (720, 1280), GREEN).save(samples.green)
        return samples


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", *args], check=True, timeout=120)


@dataclass(frozen=True)
class Cost:
    """What one phase cost: wall seconds, Redis commands and CPU, SQL statements."""

    seconds: float
    finished: bool
    redis_commands: Counter[str]
    redis_cpu: float
    cpu: float
    children_cpu: float
    sql: Counter[str]


@dataclass
class PhaseResult:
    """One run of the generations through one worker; per-generation values of those that ended."""

    name: str
    cost: Cost
    rss_after: float
    ended: int
    overhead: dict[int, float]
    before: dict[int, float]
    poll_wait: dict[int, float]
    after: dict[int, float]
    queue_wait: dict[int, float]
    polls: dict[int, int]


@dataclass
class Result:
    generations: int
    formats: Counter[str]
    latency: tuple[float, float]
    poll: float
    concurrency: int
    seed: int
    setup_seconds: float
    rss_idle: float
    rss_setup: float
    baseline: PhaseResult
    pipeline: PhaseResult
    done: int
    failures: dict[int, str]
    delivery: RecordingDelivery
    format_of: dict[int, str]
    steps_per_generation: float

    @property
    def ok(self) -> bool:
        """Every generation DONE and delivered, in both phases."""
        return (
            self.done == self.generations
            and len(self.delivery.delivered) == self.generations
            and self.baseline.ended == self.generations
        )


class Bench:
    """The database, storage, Redis and the generations both phases run."""

    def __init__(self, workdir: Path, redis_url: str, args: argparse.Namespace) -> None:
        self.redis = Redis.from_url(redis_url)
        self.admin = Redis.from_url(redis_url)
        self.pool = ArqRedis(connection_pool=self.redis.connection_pool)
        self.queue = ArqJobQueue(self.pool)
        self.n: int = args.generations
        self.latency: tuple[float, float] = args.latency
        self.poll: float = args.poll
        self.seed: int = args.seed
        self.concurrency: int = args.concurrency or max(1000, self.n) + 8  # + slots for the cron jobs
        self.clock = SystemClock()
        self.ledger = Ledger(self.clock)
        pricing = load_pricing(ROOT / "catalog" / "pricing.yaml")
        self.generations = TimedGenerations(self.ledger, pricing, self.clock)
        self.users = UserService(self.ledger, self.clock, ("ru", "en"), "ru")
        self.catalog = Catalog.load(ROOT / "catalog", ("ru", "en"), "ru")
        self.storage = LocalStorage(workdir / "storage")
        self.scratch = workdir / "scratch"
        self.samples = Samples.make(workdir / "samples")
        self.delivery = RecordingDelivery(RedisThrottle(self.redis))
        self.sql = SqlStatements()
        self.ids: list[int] = []
        self.format_of: dict[int, str] = {}
        self.enqueued: dict[int, float] = {}

    async def setup(self) -> None:
        """Users with credits, each with one confirmed draft whose speech (and background) is in storage."""
        if self.catalog.character(CHARACTER) is None or self.catalog.voice(VOICE) is None:
            raise SystemExit(f"catalog/ lacks character {CHARACTER!r} or voice {VOICE!r}")
        for index in range(self.n):
            user_id = FIRST_USER_ID + index
            await self.users.ensure_user(_BenchUser(user_id))
            await self.ledger.credit(user_id, CREDITS, LedgerReason.ADMIN_GRANT, f"bench-grant:{user_id}")
            video_format: VideoFormat = "talking_head" if index % 2 == 0 else "background"
            draft = Draft.new(user_id, "ru").with_format(video_format)
            wav = draft_key(user_id, draft.draft_id, "speech.wav")
            ogg = draft_key(user_id, draft.draft_id, "speech.ogg")
            await self.storage.put_file(wav, self.samples.wav, content_type="audio/wav")
            await self.storage.put_file(ogg, self.samples.ogg, content_type="audio/ogg")
            if video_format == "background":
                background = draft_key(user_id, draft.draft_id, "background.mp4")
                await self.storage.put_file(background, self.samples.video, content_type="video/mp4")
                draft = draft.with_background(background)
            draft = (
                draft.with_character(CHARACTER)
                .with_voice(VOICE)
                .with_script(SCRIPT)
                .with_speech(speech_key=wav, speech_ogg_key=ogg, speech_seconds=SAMPLE_SECONDS)
                .with_captions(True)
            )
            confirmed = await self.generations.confirm(draft, key=f"confirm:{draft.draft_id}")
            self.ids.append(confirmed.generation_id)
            self.format_of[confirmed.generation_id] = video_format

    def pipeline(self, cls: type[Pipeline], **extra: Any) -> Pipeline:
        video = CopiedVideo(self.samples.video)
        return cls(
            generations=self.generations,
            steps=StepLog(self.clock),
            catalog=self.catalog,
            storage=self.storage,
            video_maker=SlowTalkingVideo(self.samples.video, self.latency, self.seed),
            image_editor=CopiedBackdrop(self.samples.green),
            compositor=video,
            captioner=video,
            delivery=self.delivery,
            scratch_dir=self.scratch,
            poll_interval=self.poll,
            **extra,
        )

    async def measure(
        self, name: str, pipeline: Pipeline, heartbeats: Heartbeats, ended: Callable[[], int]
    ) -> Cost:
        """Enqueue every generation, run one worker until each job ended (or the deadline passed)."""
        parts = WorkerParts(
            pipeline=pipeline,
            heartbeats=heartbeats,
            reaper=Reaper(self.generations, self.queue, pipeline, self.clock),
            cleanup=TempCleanup(self.scratch, self.storage.root / "tmp"),
            summary=None,
        )
        worker = build_worker(self.pool, parts, WorkerConfig(concurrency=self.concurrency))
        redis_before, redis_cpu_before = await self.redis_counts()
        sql_before = self.sql.snapshot()
        cpu_before, children_before = time.process_time(), children_cpu_seconds()
        started = time.monotonic()
        for generation_id in self.ids:
            self.enqueued[generation_id] = time.monotonic()
            await self.queue.enqueue(generation_id)
        # Generous: a pipeline that cannot keep up still gets its numbers reported, unless it is hopeless.
        deadline = started + self.latency[1] + max(120.0, 1.0 * self.n)
        async with worker_running(worker, heartbeats):
            finished = await _wait_for_jobs(worker, ended, n=self.n, name=name, deadline=deadline)
        seconds = time.monotonic() - started
        cpu, children = time.process_time() - cpu_before, children_cpu_seconds() - children_before
        redis_after, redis_cpu_after = await self.redis_counts()
        redis_after.subtract(redis_before)
        sql = self.sql.snapshot()
        sql.subtract(sql_before)
        return Cost(seconds, finished, +redis_after, redis_cpu_after - redis_cpu_before, cpu, children, +sql)

    async def redis_counts(self) -> tuple[Counter[str], float]:
        stats = await self.admin.info("commandstats")
        stats.pop("cmdstat_info", None)  # the harness's own INFO calls
        cpu = await self.admin.info("cpu")
        counts = Counter({name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()})
        return counts, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])

    async def close(self) -> None:
        await self.redis.aclose()
        await self.admin.aclose()


@dataclass(frozen=True)
class _BenchUser:
    id: int
    username: str | None = None
    first_name: str = "Bench"
    language_code: str | None = "ru"


async def _wait_for_jobs(
    worker: Worker, ended: Callable[[], int], *, n: int, name: str, deadline: float
) -> bool:
    """Wait until ``ended()`` counts every generation and the worker has no render job left (its counters
    also count cron jobs); False when the deadline came first."""
    started = shown = time.monotonic()
    while ended() < n or any(
        not task.done() for job_id, task in worker.tasks.items() if job_id.startswith(RENDER_JOB)
    ):
        now = time.monotonic()
        if now > deadline:
            print(
                f"  {name}: gave up with {ended()} of {n} ended after {now - started:.0f} s", file=sys.stderr
            )
            return False
        if now - shown >= 10:
            shown = now
            print(f"  {name}: {ended()}/{n} ended after {now - started:.0f} s", file=sys.stderr)
        await asyncio.sleep(0.1)
    return True


async def run(workdir: Path, redis_url: str, args: argparse.Namespace, rss_idle: float) -> Result:
    database = f"sqlite://{workdir}/bench.sqlite3"
    await apply_migrations(database)
    await init_db(database)
    bench = Bench(workdir, redis_url, args)
    try:
        setup_started = time.monotonic()
        await bench.setup()
        setup_seconds = time.monotonic() - setup_started
        rss_setup = peak_rss_mib()
        await bench.sql.attach()

        baseline = bench.pipeline(PollOnlyPipeline, inputs=(bench.samples.green, bench.samples.wav))
        assert isinstance(baseline, PollOnlyPipeline)
        print(f"baseline: {bench.n} poll-only jobs …", file=sys.stderr)
        cost = await bench.measure(
            "baseline", baseline, Heartbeats(bench.generations), lambda: len(baseline.finished)
        )
        base = _phase(
            "poll-only baseline",
            cost,
            started=baseline.started,
            finished=baseline.finished,
            requests=_requests(baseline, baseline.request_of),
            enqueued=bench.enqueued,
            before_known=False,
        )

        heartbeats = Heartbeats(bench.generations)
        pipeline = bench.pipeline(Pipeline, heartbeats=heartbeats)
        timed = bench.generations
        print(f"pipeline: {bench.n} generations …", file=sys.stderr)
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        cost = await bench.measure(
            "pipeline", pipeline, heartbeats, lambda: len(timed.completed) + len(timed.failures)
        )
        if profiler is not None:
            profiler.disable()
            _print_profile(profiler)
        request_of: dict[int, str] = {}
        steps, done = 0, 0
        for generation_id in bench.ids:
            info = await bench.generations.get(generation_id)
            done += info is not None and info.status == GenerationStatus.DONE
            records = await pipeline.steps.all_of(generation_id)
            steps += len(records)
            video = records.get(Step.VIDEO)
            if video is not None and video.request_id is not None:
                request_of[generation_id] = video.request_id
        main = _phase(
            "pipeline",
            cost,
            started=timed.taken_up,
            finished=timed.completed,
            requests=_requests(pipeline, request_of),
            enqueued=bench.enqueued,
            before_known=True,
        )
        return Result(
            generations=bench.n,
            formats=Counter(bench.format_of.values()),
            latency=bench.latency,
            poll=bench.poll,
            concurrency=bench.concurrency,
            seed=bench.seed,
            setup_seconds=setup_seconds,
            rss_idle=rss_idle,
            rss_setup=rss_setup,
            baseline=base,
            pipeline=main,
            done=done,
            failures=dict(timed.failures),
            delivery=bench.delivery,
            format_of=bench.format_of,
            steps_per_generation=steps / bench.n,
        )
    finally:
        await bench.close()
        await close_db()


def _print_profile(profiler: cProfile.Profile) -> None:
    """Where the worker's event-loop thread spent the pipeline phase (cProfile slows it down a good deal)."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(PROFILED, 40)
    print(out.getvalue(), file=sys.stderr)


def _requests(pipeline: Pipeline, request_of: dict[int, str]) -> dict[int, Request]:
    provider = pipeline.video_maker
    assert isinstance(provider, SlowTalkingVideo)
    return {generation_id: provider.requests[r] for generation_id, r in request_of.items()}


def _phase(
    name: str,
    cost: Cost,
    *,
    started: dict[int, float],
    finished: dict[int, float],
    requests: dict[int, Request],
    enqueued: dict[int, float],
    before_known: bool,
) -> PhaseResult:
    """Per generation that ended: the overhead and where it went."""
    overhead: dict[int, float] = {}
    before: dict[int, float] = {}
    poll_wait: dict[int, float] = {}
    after: dict[int, float] = {}
    queue_wait: dict[int, float] = {}
    polls: dict[int, int] = {}
    for generation_id, request in requests.items():
        if generation_id not in finished or request.collected is None:
            continue
        start, end = started[generation_id], finished[generation_id]
        overhead[generation_id] = end - start - request.latency
        if before_known:
            before[generation_id] = request.submitted - start
        poll_wait[generation_id] = request.collected - request.ready
        after[generation_id] = end - request.collected
        queue_wait[generation_id] = start - enqueued[generation_id]
        polls[generation_id] = request.polls
    return PhaseResult(
        name, cost, peak_rss_mib(), len(overhead), overhead, before, poll_wait, after, queue_wait, polls
    )


# --- the report --------------------------------------------------------------------------------------


def _s(values: dict[int, float]) -> str:
    """Median / p95 / max of a sample, in seconds."""
    sample = list(values.values())
    if not sample:
        return "—"
    return f"{statistics.median(sample):.2f} / {percentile(sample, 0.95):.2f} / {max(sample):.2f}"


def _per_job(counts: Counter[str], n: int, top: int = 6) -> str:
    named = ", ".join(f"{name} {count / n:.1f}" for name, count in counts.most_common(top))
    return f"{sum(counts.values()) / n:.1f} ({named})" if named else "0"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(r: Result) -> str:
    p, b, n = r.pipeline, r.baseline, r.generations
    pc, bc = p.cost, b.cost
    overhead = list(p.overhead.values()) or [float("inf")]
    median, p95 = statistics.median(overhead), percentile(overhead, 0.95)
    base_median = statistics.median(b.overhead.values()) if b.overhead else 0.0
    formats = ", ".join(f"{count} {fmt.replace('_', ' ')}" for fmt, count in sorted(r.formats.items()))
    by_format = {
        fmt: {g: v for g, v in p.overhead.items() if r.format_of[g] == fmt} for fmt in sorted(r.formats)
    }
    asked, allowed = r.delivery.asked, r.delivery.allowed
    ended = "" if pc.finished else f" (stopped waiting after {pc.seconds:.0f} s)"
    lines = [
        f"{n} generations ({formats}, all captioned), provider latency {r.latency[0]:g}–{r.latency[1]:g} s "
        f"(uniform, seed {r.seed}), `Pipeline.poll_interval` {r.poll:g} s, worker concurrency "
        f"{r.concurrency}, all enqueued at once.",
        "",
        "| | measured | target | verdict |",
        "|---|---|---|---|",
        f"| generations DONE and delivered | {r.done} of {n}{ended} | all | {_verdict(r.ok)} |",
        f"| pipeline overhead per generation, median | **{median:.2f} s** | ≤ {OVERHEAD_TARGET:g} s | "
        f"{_verdict(median <= OVERHEAD_TARGET)} |",
        f"| pipeline overhead per generation, p95 | {p95:.2f} s | — | |",
        f"| … median less the poll-only baseline's ({base_median:.2f} s: waiting for the next poll) | "
        f"{median - base_median:.2f} s | — | |",
        f"| worker process peak RSS | **{p.rss_after:.0f} MiB** | ≤ {RSS_TARGET:g} MiB | "
        f"{_verdict(p.rss_after <= RSS_TARGET)} |",
        f"| idle process, everything imported (for comparison) | {r.rss_idle:.0f} MiB | — | |",
        f"| Redis commands per job | **{sum(pc.redis_commands.values()) / n:.1f}** | — | "
        f"poll-only baseline: {sum(bc.redis_commands.values()) / n:.1f} |",
        "",
        "Overhead = wall time from `Generations.take_up` to `Generations.complete` minus the provider's own "
        "latency (submit → ready). Values are median / p95 / max in seconds over the generations that ended.",
        "",
        "| | pipeline | poll-only baseline |",
        "|---|---|---|",
        f"| overhead | {_s(p.overhead)} | {_s(b.overhead)} |",
        f"| … before the provider (take-up → submit) | {_s(p.before)} | — |",
        f"| … waiting for the next poll (ready → collect) | {_s(p.poll_wait)} | {_s(b.poll_wait)} |",
        f"| … after the provider (collect → complete) | {_s(p.after)} | {_s(b.after)} |",
        *(f"| overhead, {fmt.replace('_', ' ')} only | {_s(v)} | |" for fmt, v in by_format.items()),
        f"| queue wait (enqueued → taken up) | {_s(p.queue_wait)} | {_s(b.queue_wait)} |",
        f"| all jobs ended after | {pc.seconds:.1f} s | {bc.seconds:.1f} s |",
        f"| provider polls per generation, mean | {_mean(p.polls)} | {_mean(b.polls)} |",
        f"| Redis commands per job | {_per_job(pc.redis_commands, n)} | {_per_job(bc.redis_commands, n)} |",
        f"| SQL statements per job | {_per_job(pc.sql, n)} | {_per_job(bc.sql, n, 2)} |",
        f"| redis-server CPU per job | {1000 * pc.redis_cpu / n:.2f} ms | {1000 * bc.redis_cpu / n:.2f} ms |",
        f"| CPU per job in the worker process | {1000 * pc.cpu / n:.1f} ms | {1000 * bc.cpu / n:.1f} ms |",
        f"| CPU per job in child processes (ffprobe, ffmpeg) | {1000 * pc.children_cpu / n:.1f} ms | "
        f"{1000 * bc.children_cpu / n:.1f} ms |",
        f"| peak RSS of the process after the phase | {p.rss_after:.0f} MiB | {b.rss_after:.0f} MiB |",
        "",
        f"Per generation the delivery was asked for {asked['progress'] / n:.1f} progress edits "
        f"({allowed['progress'] / n:.1f} let through by the 5 s throttle) and "
        f"{asked['working'] / n:.1f} chat actions ({allowed['working'] / n:.1f} let through); "
        f"{r.steps_per_generation:.1f} steps recorded. "
        f"Setup ({n} users with credits, {n} drafts confirmed): {r.setup_seconds:.1f} s. "
        f"Peak RSS: {r.rss_idle:.0f} MiB idle with everything imported, {r.rss_setup:.0f} MiB after the "
        f"setup, {b.rss_after:.0f} MiB after the baseline, {p.rss_after:.0f} MiB after the pipeline.",
    ]
    if r.failures:
        shown = "; ".join(f"{g}: {why[:120]}" for g, why in list(r.failures.items())[:5])
        lines += ["", f"**{len(r.failures)} generations failed**, e.g. {shown}"]
    return "\n".join(lines)


def _mean(values: dict[int, int]) -> str:
    return f"{statistics.mean(values.values()):.1f}" if values else "—"


def _latency(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split("-", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A-B in seconds, e.g. 10-60, got {text!r}") from None
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"need 0 ≤ A ≤ B, got {text!r}")
    return low, high


def main(argv: list[str] | None = None) -> int:
    rss_idle = peak_rss_mib()  # everything this benchmark and the worker need is imported by now
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pipeline", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--generations", type=int, default=1000, help="generations in flight (1000)")
    parser.add_argument(
        "--latency", type=_latency, default=(10.0, 60.0), help="provider latency A-B s (10-60)"
    )
    parser.add_argument("--poll", type=float, default=2.0, help="Pipeline.poll_interval in seconds (2)")
    parser.add_argument("--concurrency", type=int, help="worker concurrency (default: generations + 8)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the provider latencies (1)")
    parser.add_argument("--profile", action="store_true", help="cProfile the pipeline phase (to stderr)")
    parser.add_argument("--write", type=Path, help="rewrite the pipeline section of this Markdown file")
    args = parser.parse_args(argv)
    if args.generations < 1:
        parser.error("--generations must be at least 1")
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        workdir = Path(tmp)
        # Logs as the worker writes them in production (JSON, INFO), into a file: their cost is measured.
        with (workdir / "worker.log").open("w", encoding="utf-8") as log_file:
            setup_logging(fmt="json", level="INFO", stream=log_file)
            (workdir / "redis").mkdir()
            with redis_server(workdir / "redis") as url:
                result = asyncio.run(run(workdir, url, args, rss_idle))
    versions = ", ".join(f"{name} {version(name)}" for name in ("arq", "tortoise-orm", "redis"))
    extra = (
        f"{versions} (redis-py) · redis-server {tool_version(['redis-server', '--version'], 'v=')} · "
        f"SQLite (WAL) · ffmpeg {tool_version(['ffmpeg', '-version'], 'version')}"
    )
    text = (
        f"### Generation pipeline: {result.generations} generations in one arq worker\n\n"
        f"{machine_line(extra, load_before)}\n\n{report(result)}\n\n"
        f"Whole run: {time.perf_counter() - started:.0f} s."
    )
    print(text)
    if args.write is not None:
        write_section(args.write, SECTION, text)
        print(f"\nresults written to {args.write}", file=sys.stderr)
    # The numbers are written either way; a run in which generations did not finish is a failed run.
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
