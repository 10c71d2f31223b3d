"""One generation from confirmed to delivered, as a persisted state machine of idempotent steps.

The database row is the truth: the job carries only the generation id and reads everything else from the
row. Each step (``app.domain.steps``) records its output in ``generation_steps`` and its files in object
storage, so a retried or resumed job — on this worker or another machine — starts at the first unfinished
step. The talking-video step stores the provider's request id *before* it waits, so a worker killed
mid-wait polls the same request after a restart instead of paying for a second render.

Transient provider errors (429, 5xx, timeouts) are retried with exponential backoff, a bounded number of
times per step across restarts; permanent ones (refusals, validation) fail at once. Any failure releases the
held credits through ``Generations.fail`` — once, whatever retries or restarts happened — and tells the user
why, in their language.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import structlog

from app.domain.generations import GenerationInfo, GenerationStateError
from app.domain.steps import PHASES, Phase, RetryPolicy, Step, StepRecord, plan_steps, words_to_data
from app.jobs.heartbeat import Heartbeats
from app.logs import get_logger
from app.metrics import Metrics
from app.services.catalog import Catalog
from app.services.clock import Clock, SystemClock
from app.services.costs import CostLedger, Purpose
from app.services.fal.queue import stored_request_id
from app.services.generations import Generations
from app.services.media_probe import MediaProblem, MediaToolError, probe
from app.services.providers import (
    EditRefused,
    ImageEditor,
    ObjectStorage,
    ProviderCost,
    ProviderError,
    RenderedVideo,
    TalkingVideoMaker,
    WordTiming,
)
from app.services.speech.timings import word_timings
from app.services.steps import StepLog
from app.services.storage.keys import generation_key
from app.services.video.thumbnail import make_thumbnail

log = get_logger(__name__)

VIDEO_NAME = "video.mp4"
# Seconds between checks, while waiting on a provider, that the generation is still in progress.
STILL_ACTIVE_CHECK = 10.0
AUDIO_NAME = "speech.ogg"
THUMB_NAME = "thumb.jpg"
# What the image editor is asked for before a background-format video: a backdrop ffmpeg can key out.
GREEN_SCREEN_PROMPT = (
    "Put the person on a flat, evenly lit pure chroma green (#00B140) studio background. "
    "Keep the person, pose, face, hair and clothes exactly the same; no shadows on the background."
)
# A worker that died this many times on one generation is not going to make it: fail and refund.
MAX_TAKE_UPS = 5
# A presigned link to a video too large to upload stays valid for a week (the S3 maximum).
LINK_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class FinalVideo:
    """The finished video as the user gets it."""

    path: Path
    thumb: Path | None
    width: int
    height: int
    seconds: float
    size: int
    provider: str
    link: str | None = None
    """A presigned URL, when the file is over Telegram's upload limit and is sent as a link instead."""


@dataclass(frozen=True, slots=True)
class Delivered:
    """Telegram's file ids of what the user received, when the sent messages told them."""

    video_file_id: str | None
    audio_file_id: str | None


class Delivery(Protocol):
    """How the user hears of a generation: progress, the finished video, a failure."""

    async def progress(self, info: GenerationInfo, phase: Phase) -> None: ...

    async def working(self, info: GenerationInfo) -> None:
        """A chat action ("recording video…") while a long step runs."""
        ...

    async def deliver(self, info: GenerationInfo, video: FinalVideo) -> Delivered: ...

    async def failed(self, info: GenerationInfo) -> None: ...


class Compositor(Protocol):
    async def composite(self, talking: Path, background: Path, *, workdir: Path) -> RenderedVideo: ...


class Captioner(Protocol):
    async def burn(
        self, video: Path, words: Sequence[WordTiming], style: str | None, *, workdir: Path
    ) -> Path: ...


class MissingInput(Exception):  # noqa: N818  (reads as the situation)
    """A file the generation was confirmed with is gone from storage."""


class Parked(Exception):  # noqa: N818  (reads as the situation)
    """The provider renders and will report by webhook: the job steps aside for ``seconds`` (or a wake-up)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"waiting for the provider's webhook, polling again in {seconds:.0f} s")
        self.seconds = seconds


class SettledElsewhere(Exception):  # noqa: N818  (reads as the situation)
    """The generation was finished (failed by the reaper, say) while this job worked on it."""


@dataclass
class Pipeline:
    generations: Generations
    steps: StepLog
    catalog: Catalog
    storage: ObjectStorage
    video_maker: TalkingVideoMaker
    image_editor: ImageEditor
    compositor: Compositor
    captioner: Captioner
    delivery: Delivery
    scratch_dir: Path
    upload_limit: int = 50 * 1024 * 1024
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_interval: float = 5.0
    video_deadline: float = 30 * 60.0
    max_take_ups: int = MAX_TAKE_UPS
    heartbeats: Heartbeats | None = None
    costs: CostLedger | None = None
    metrics: Metrics | None = None
    park_after: float | None = None
    """Set when the video provider reports by webhook: instead of polling in a loop, the job parks for this
    many seconds (a webhook wakes it earlier) and the worker serves other jobs meanwhile."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Clock = field(default_factory=SystemClock)
    """The clock the step log writes ``started_at`` with: the video deadline is measured against it."""

    async def run(self, generation_id: int) -> float | None:
        """Render and deliver ``generation_id`` from where it stands; one no longer in progress is left be.

        Returns None when the job is over (delivered or failed), or the seconds after which to run it again
        when it parked to wait for a provider's webhook."""
        info = await self.generations.get(generation_id)
        if info is None or not info.active:
            return None
        if info.attempts >= self.max_take_ups:
            await self._fail(info, "internal", f"the worker stopped {info.attempts} times on this video")
            return None
        info = await self.generations.take_up(generation_id)
        work = self.scratch_dir / "generations" / str(info.id)
        beating = self.heartbeats.track(info.id) if self.heartbeats else contextlib.nullcontext()
        # Every log line of this run names the generation and its user (JSON logs in production).
        with structlog.contextvars.bound_contextvars(generation_id=info.id, user_id=info.user_id):
            return await self._run_logged(info, work, beating)

    async def _run_logged(
        self, info: GenerationInfo, work: Path, beating: contextlib.AbstractContextManager[object]
    ) -> float | None:
        try:
            with beating:
                await self._run(info, work)
        except asyncio.CancelledError:
            # Shutdown or the job's time limit: the generation stays in progress, its credits held; the queue
            # runs it again and it resumes at the first unfinished step.
            log.info("generation interrupted; it resumes where it stopped", generation_id=info.id)
            raise
        except Parked as parked:
            until = self.clock.now() + timedelta(seconds=parked.seconds)
            if await self.generations.park(info.id, until=until):
                log.info("generation parked until the provider reports", generation_id=info.id,
                         seconds=parked.seconds)  # fmt: skip
                return parked.seconds
            return None
        except (SettledElsewhere, GenerationStateError) as exc:
            # The reaper (or an operator) failed it meanwhile: refunded and told once already, by them.
            log.warning("generation finished while this job worked on it; stopping", generation_id=info.id,
                        detail=str(exc))  # fmt: skip
        except ProviderError as exc:
            await self._fail(info, exc.reason, exc.detail)
        except MissingInput as exc:
            await self._fail(info, "missing_file", str(exc))
        except Exception as exc:
            log.exception("generation failed", generation_id=info.id)
            await self._fail(info, "internal", f"{type(exc).__name__}: {exc}")
        else:
            await asyncio.to_thread(shutil.rmtree, work, True)
            return None
        await asyncio.to_thread(shutil.rmtree, work, True)
        return None

    async def _run(self, info: GenerationInfo, work: Path) -> None:
        await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
        files = _Files(self.storage, work)
        done = {step: record for step, record in (await self.steps.all_of(info.id)).items() if record.done}
        outputs: dict[Step, Mapping[str, Any]] = {step: record.output for step, record in done.items()}
        actions: dict[Step, Callable[[StepRecord], Awaitable[dict[str, Any]]]] = {
            Step.SPEECH: lambda record: self._speech(info),
            Step.BACKDROP: lambda record: self._backdrop(info, files),
            Step.VIDEO: lambda record: self._video(info, record, files, outputs),
            Step.COMPOSITE: lambda record: self._composite(info, files, outputs),
            Step.CAPTIONS: lambda record: self._captions(info, files, outputs),
            Step.STORE: lambda record: self._store(info, files, outputs),
            Step.DELIVER: lambda record: self._deliver(info, files, outputs),
        }
        for step in plan_steps(info.format, info.captions):
            if step in outputs:
                continue
            outputs[step] = await self._step(info, step, actions[step])
        stored = outputs[Step.STORE]
        await self.generations.complete(
            info.id,
            video_key=str(stored["video_key"]),
            audio_key=str(stored["audio_key"]),
            thumb_key=stored.get("thumb_key"),
            width=int(stored["width"]),
            height=int(stored["height"]),
            seconds=float(stored["seconds"]),
        )
        delivered = outputs[Step.DELIVER]
        await self.generations.remember_file_ids(
            info.id,
            video_file_id=delivered.get("video_file_id"),
            audio_file_id=delivered.get("audio_file_id"),
        )
        log.info("generation delivered", generation_id=info.id, seconds=stored["seconds"])

    async def _step(
        self,
        info: GenerationInfo,
        step: Step,
        action: Callable[[StepRecord], Awaitable[dict[str, Any]]],
    ) -> Mapping[str, Any]:
        """Run ``step`` to its recorded output, retrying transient provider errors with backoff."""
        await self.generations.set_step(info.id, step.value)
        await self.delivery.progress(info, PHASES[step])
        while True:
            record = await self.steps.begin(info.id, step)
            if record.done:
                return record.output
            try:
                output = await action(record)
            except Parked:
                await self.steps.give_back(info.id, step)
                raise
            except ProviderError as exc:
                await self.steps.set_error(info.id, step, f"{exc.reason}: {exc.detail}")
                if not exc.transient or not self.retry.may_retry(record.attempts):
                    raise
                delay = self.retry.delay(record.attempts)
                log.warning(
                    "step failed, retrying",
                    generation_id=info.id,
                    step=step.value,
                    attempt=record.attempts,
                    delay=delay,
                    reason=exc.reason,
                )
                await self.sleep(delay)
                if not await self.generations.heartbeat(info.id):
                    raise SettledElsewhere(f"generation {info.id} was finished while {step} waited") from None
                continue
            await self.steps.finish(info.id, step, output)
            return output

    def _timed(self, provider: str, operation: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Latency (and the reason of a failure) of one provider call, when metrics are on."""
        if self.metrics is None:
            return contextlib.nullcontext()
        return self.metrics.time_provider(provider, operation)

    async def _record_cost(self, cost: ProviderCost | None, purpose: Purpose, info: GenerationInfo) -> None:
        if self.costs is not None:
            await self.costs.record(cost, purpose=purpose, user_id=info.user_id, generation_id=info.id)

    # --- the steps -------------------------------------------------------------------------------------

    async def _speech(self, info: GenerationInfo) -> dict[str, Any]:
        """The take is in storage; its word timings (the provider's, else an estimate) for captions."""
        if not info.speech_key or not await self.storage.exists(info.speech_key):
            raise MissingInput(f"the speech {info.speech_key or '(none)'} is not in storage")
        words = await word_timings(
            self.storage,
            info.speech_words_key,
            script=info.script,
            seconds=info.speech_seconds,
            scratch=self.scratch_dir / "words",
        )
        return {"words": words_to_data(words), "seconds": info.speech_seconds}

    async def _backdrop(self, info: GenerationInfo, files: _Files) -> dict[str, Any]:
        """The character on a flat chroma-green backdrop, ready to be keyed out of the talking video."""
        look = await self._look(info, files)
        try:
            async with self._timed(self.image_editor.name, "edit"):
                edited = await self.image_editor.edit(look, GREEN_SCREEN_PROMPT, workdir=files.work)
        except EditRefused as exc:
            # The compositor lays a character without green over the background as a framed picture.
            log.warning("green backdrop refused; framing the character instead", generation_id=info.id,
                        detail=exc.detail)  # fmt: skip
            return {"image_key": None, "green": False}
        await self._record_cost(edited.cost, "backdrop", info)
        key = generation_key(info.user_id, info.id, "work-backdrop" + (edited.path.suffix or ".png"))
        await files.put(key, edited.path, "image/png" if edited.path.suffix == ".png" else "image/jpeg")
        return {"image_key": key, "green": True, "provider": edited.provider}

    async def _video(
        self,
        info: GenerationInfo,
        record: StepRecord,
        files: _Files,
        outputs: Mapping[Step, Mapping[str, Any]],
    ) -> dict[str, Any]:
        request_id = record.request_id
        if request_id is None:
            backdrop = outputs.get(Step.BACKDROP, {}).get("image_key")
            image = await files.get(backdrop, "backdrop.png") if backdrop else await self._look(info, files)
            speech = await files.get(info.speech_key, "speech.wav")
            await self.generations.set_video_provider(info.id, self.video_maker.name)
            async with self._timed(self.video_maker.name, "video_submit"):
                request_id = await self.video_maker.submit(
                    image, speech, workdir=files.work, reference=f"g{info.id}"
                )
            # Before waiting: a worker that dies from here on polls this request instead of paying again.
            await self.steps.set_request(info.id, Step.VIDEO, request_id)
            log.info("talking video requested", generation_id=info.id, provider=self.video_maker.name)
        # The provider's request id on every line from here (the step's output and result keep it too).
        structlog.contextvars.bind_contextvars(request_id=(stored_request_id(request_id) or request_id)[:80])
        # From the step's first attempt, across restarts; on the step log's clock, not this machine's.
        deadline = record.started_at + timedelta(seconds=self.video_deadline)
        checked = self.clock.now()
        while True:
            async with self._timed(self.video_maker.name, "video_collect"):
                video = await self.video_maker.collect(request_id, workdir=files.work)
            if video is not None:
                if self.metrics is not None:
                    seconds = (self.clock.now() - record.started_at).total_seconds()
                    self.metrics.observe_provider(self.video_maker.name, "render", seconds)
                break
            # The worker's Heartbeats keep the row alive; this only notices, now and then, that the reaper
            # (or an operator) failed the generation meanwhile — one write per poll would load the database.
            if (self.clock.now() - checked).total_seconds() >= STILL_ACTIVE_CHECK:
                checked = self.clock.now()
                if not await self.generations.heartbeat(info.id):
                    raise SettledElsewhere(f"generation {info.id} was finished while its video rendered")
            if self.clock.now() > deadline:
                raise ProviderError("video_timeout", f"no video after {self.video_deadline:.0f} s")
            await self.delivery.progress(info, Phase.VIDEO)
            await self.delivery.working(info)
            if self.park_after is not None:
                raise Parked(self.park_after)
            await self.sleep(self.poll_interval)
        await self._record_cost(video.cost, "video", info)
        key = generation_key(info.user_id, info.id, "work-talking.mp4")
        await files.put(key, video.path, "video/mp4")
        return _video_output(key, video)

    async def _composite(
        self, info: GenerationInfo, files: _Files, outputs: Mapping[Step, Mapping[str, Any]]
    ) -> dict[str, Any]:
        talking = await files.get(str(outputs[Step.VIDEO]["key"]), "talking.mp4")
        background = await files.get(info.background_key, "background")
        video = await self.compositor.composite(talking, background, workdir=files.work)
        key = generation_key(info.user_id, info.id, "work-composite.mp4")
        await files.put(key, video.path, "video/mp4")
        return _video_output(key, video)

    async def _captions(
        self, info: GenerationInfo, files: _Files, outputs: Mapping[Step, Mapping[str, Any]]
    ) -> dict[str, Any]:
        source = _latest(outputs)
        video = await files.get(str(source["key"]), "uncaptioned.mp4")
        words = tuple(WordTiming(str(w), float(s), float(e)) for w, s, e in outputs[Step.SPEECH]["words"])
        captioned = await self.captioner.burn(video, words, info.caption_style, workdir=files.work)
        key = generation_key(info.user_id, info.id, "work-captioned.mp4")
        await files.put(key, captioned, "video/mp4")
        return {**source, "key": key}

    async def _store(
        self, info: GenerationInfo, files: _Files, outputs: Mapping[Step, Mapping[str, Any]]
    ) -> dict[str, Any]:
        """The final video, its thumbnail and the voice-over under the generation's keys."""
        source = _latest(outputs)
        video = await files.get(str(source["key"]), "final.mp4")
        # The step that made the video measured it; ffprobe only for an output that says nothing.
        measured = all(source.get(name) for name in ("width", "height", "seconds"))
        try:
            media = None if measured else await probe(video)
        except (MediaToolError, MediaProblem) as exc:
            raise ProviderError("video_failed", f"the finished video cannot be read: {exc}") from exc
        video_key = generation_key(info.user_id, info.id, VIDEO_NAME)
        await files.put(video_key, video, "video/mp4")
        thumb_key: str | None = generation_key(info.user_id, info.id, THUMB_NAME)
        thumb = await make_thumbnail(video, files.work / THUMB_NAME)
        if thumb is None:
            thumb_key = None
        else:
            await files.put(str(thumb_key), thumb, "image/jpeg")
        if info.speech_ogg_key:
            audio_key = generation_key(info.user_id, info.id, AUDIO_NAME)
            ogg = await files.get(info.speech_ogg_key, AUDIO_NAME)
            await files.put(audio_key, ogg, "audio/ogg")
        else:
            audio_key = generation_key(info.user_id, info.id, "speech.wav")
            wav = await files.get(info.speech_key, "speech.wav")
            await files.put(audio_key, wav, "audio/wav")
        return {
            "video_key": video_key,
            "audio_key": audio_key,
            "thumb_key": thumb_key,
            "width": (media and media.width) or int(source.get("width") or 720),
            "height": (media and media.height) or int(source.get("height") or 1280),
            "seconds": round(
                (media and media.duration) or float(source.get("seconds") or info.speech_seconds), 3
            ),
            "size": media.size if media else (await asyncio.to_thread(video.stat)).st_size,
            "provider": str(outputs[Step.VIDEO].get("provider") or self.video_maker.name),
        }

    async def _deliver(
        self, info: GenerationInfo, files: _Files, outputs: Mapping[Step, Mapping[str, Any]]
    ) -> dict[str, Any]:
        stored = outputs[Step.STORE]
        video = await files.get(str(stored["video_key"]), VIDEO_NAME)
        thumb = await files.get(stored["thumb_key"], THUMB_NAME) if stored.get("thumb_key") else None
        size = int(stored["size"])
        link = None
        if size > self.upload_limit:
            link = await self.storage.presigned_url(str(stored["video_key"]), expires=LINK_SECONDS)
            if link is None:
                raise ProviderError("video_too_large", f"{size} bytes and the storage cannot make a link")
        final = FinalVideo(
            path=video,
            thumb=thumb,
            width=int(stored["width"]),
            height=int(stored["height"]),
            seconds=float(stored["seconds"]),
            size=size,
            provider=str(stored["provider"]),
            link=link,
        )
        delivered = await self.delivery.deliver(info, final)
        return {"video_file_id": delivered.video_file_id, "audio_file_id": delivered.audio_file_id}

    async def _look(self, info: GenerationInfo, files: _Files) -> Path:
        if info.edited_image_key:
            return await files.get(info.edited_image_key, "look.jpg")
        character = self.catalog.character(info.character_id)
        if character is None or not character.image.is_file():
            raise MissingInput(f"character {info.character_id!r} is not in the catalog")
        return character.image

    async def abandon(self, generation_id: int, reason: str, detail: str) -> None:
        """Fail a generation no worker is going to finish (the reaper): refund once, tell the user."""
        info = await self.generations.get(generation_id)
        if info is not None and info.active:
            await self._fail(info, reason, detail)

    async def _fail(self, info: GenerationInfo, reason: str, detail: str) -> None:
        current = await self.generations.get(info.id)
        if current is None or not current.active:
            # Settled elsewhere (the reaper gave up on it while this job still ran): the credits went back
            # and the user was told then; a second notice would read as a second failure.
            log.warning("generation already finished; not failing it again", generation_id=info.id,
                        reason=reason, detail=detail[:500])  # fmt: skip
            return
        log.warning("generation failed", generation_id=info.id, reason=reason, detail=detail[:500])
        failed = await self.generations.fail(info.id, reason, detail=detail[:1000])
        try:
            await self.delivery.failed(failed)
        except Exception:
            # The credits are back either way; the user sees the failure in My videos.
            log.exception("could not tell the user about a failed generation", generation_id=info.id)


class _Files:
    """Object storage seen from one job's work folder: what this job wrote is not fetched back."""

    def __init__(self, storage: ObjectStorage, work: Path) -> None:
        self._storage = storage
        self.work = work
        self._local: dict[str, Path] = {}

    async def put(self, key: str, path: Path, content_type: str) -> None:
        await self._storage.put_file(key, path, content_type=content_type)
        self._local[key] = path

    async def get(self, key: str | None, name: str) -> Path:
        if not key:
            raise MissingInput(f"no stored file for {name}")
        cached = self._local.get(key)
        if cached is not None and cached.is_file():
            return cached
        dest = self.work / "inputs" / key.replace("/", "_")
        await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
        try:
            await self._storage.get_file(key, dest)
        except FileNotFoundError:
            raise MissingInput(f"{key} is not in storage") from None
        self._local[key] = dest
        return dest


def _video_output(key: str, video: RenderedVideo) -> dict[str, Any]:
    return {
        "key": key,
        "width": video.width,
        "height": video.height,
        "seconds": round(video.duration, 3),
        "provider": video.provider,
    }


def _latest(outputs: Mapping[Step, Mapping[str, Any]]) -> Mapping[str, Any]:
    """The most finished video so far: captioned, else composited, else the talking video."""
    for step in (Step.CAPTIONS, Step.COMPOSITE, Step.VIDEO):
        if step in outputs:
            return outputs[step]
    raise MissingInput("no video was made before this step")
