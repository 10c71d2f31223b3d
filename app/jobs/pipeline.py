"""One generation from confirmed to delivered: render the video, store it, deliver it, capture the hold.

The database row is the truth: the job carries only the generation id, reads everything else from the row,
and skips a generation that is no longer in progress (a second enqueue, a finished one). Any failure releases
the held credits through ``Generations.fail`` and tells the user why.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.domain.generations import GenerationInfo
from app.logs import get_logger
from app.services.catalog import Catalog
from app.services.generations import Generations
from app.services.providers import ObjectStorage, ProviderError, TalkingVideoMaker
from app.services.storage.keys import generation_key

log = get_logger(__name__)

# Steps recorded on the generation (shown by the progress window as ``create.progress.step.<step>``).
STEP_VIDEO = "video"
STEP_STORING = "storing"
STEP_DELIVERING = "delivering"

VIDEO_NAME = "video.mp4"
AUDIO_NAME = "speech.ogg"


@dataclass(frozen=True, slots=True)
class Delivered:
    """Telegram's file ids of what the user received, when the sent messages told them."""

    video_file_id: str | None
    audio_file_id: str | None


class Delivery(Protocol):
    """How the user hears of a generation: progress, the finished video, a failure."""

    async def progress(self, info: GenerationInfo, step: str) -> None: ...

    async def deliver(self, info: GenerationInfo, video: Path, *, provider: str) -> Delivered: ...

    async def failed(self, info: GenerationInfo) -> None: ...


class MissingInput(Exception):  # noqa: N818  (reads as the situation)
    """A file the generation was confirmed with is gone from storage."""


@dataclass
class Pipeline:
    generations: Generations
    catalog: Catalog
    storage: ObjectStorage
    video_maker: TalkingVideoMaker
    delivery: Delivery
    scratch_dir: Path

    async def run(self, generation_id: int) -> None:
        """Render and deliver ``generation_id``; a generation that is not in progress is left alone."""
        info = await self.generations.get(generation_id)
        if info is None or not info.active:
            return
        try:
            await self._run(info)
        except asyncio.CancelledError:
            # The process is stopping: the generation stays in progress, its credits held, and the next start
            # of the bot renders it again from its stored inputs.
            log.info("generation interrupted; it resumes at the next start", generation_id=info.id)
            raise
        except ProviderError as exc:
            await self._fail(info, exc.reason, exc.detail)
        except MissingInput as exc:
            await self._fail(info, "missing_file", str(exc))
        except Exception as exc:
            log.exception("generation failed", generation_id=info.id)
            await self._fail(info, "internal", f"{type(exc).__name__}: {exc}")

    async def _run(self, info: GenerationInfo) -> None:
        info = await self.generations.start(info.id, STEP_VIDEO)
        await self.delivery.progress(info, STEP_VIDEO)
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.scratch_dir) as folder:
            work = Path(folder)
            image = await self._image(info, work)
            speech = await self._fetch(info.speech_key, work / "speech.wav")
            background = None
            if info.format == "background":
                background = await self._fetch(info.background_key, work / "background")
            video = await self.video_maker.make(image, speech, background=background, workdir=work)
            await self.generations.set_step(info.id, STEP_STORING)
            await self.delivery.progress(info, STEP_STORING)
            video_key = generation_key(info.user_id, info.id, VIDEO_NAME)
            await self.storage.put_file(video_key, video.path, content_type="video/mp4")
            audio_key = generation_key(info.user_id, info.id, AUDIO_NAME)
            if info.speech_ogg_key:
                ogg = await self._fetch(info.speech_ogg_key, work / AUDIO_NAME)
                await self.storage.put_file(audio_key, ogg, content_type="audio/ogg")
            else:
                audio_key = generation_key(info.user_id, info.id, "speech.wav")
                await self.storage.put_file(audio_key, speech, content_type="audio/wav")
            await self.generations.set_step(info.id, STEP_DELIVERING)
            stored = self.storage.local_path(video_key)
            delivered = await self.delivery.deliver(
                info, stored if stored is not None else video.path, provider=video.provider
            )
        await self.generations.complete(info.id, video_key=video_key, audio_key=audio_key)
        await self.generations.remember_file_ids(
            info.id, video_file_id=delivered.video_file_id, audio_file_id=delivered.audio_file_id
        )
        log.info("generation delivered", generation_id=info.id, seconds=round(video.duration, 2))

    async def _image(self, info: GenerationInfo, work: Path) -> Path:
        if info.edited_image_key:
            return await self._fetch(info.edited_image_key, work / "look.jpg")
        character = self.catalog.character(info.character_id)
        if character is None or not character.image.is_file():
            raise MissingInput(f"character {info.character_id!r} is not in the catalog")
        return character.image

    async def _fetch(self, key: str | None, dest: Path) -> Path:
        if not key:
            raise MissingInput(f"no stored file for {dest.name}")
        try:
            return await self.storage.get_file(key, dest)
        except FileNotFoundError:
            raise MissingInput(f"{key} is not in storage") from None

    async def _fail(self, info: GenerationInfo, reason: str, detail: str) -> None:
        log.warning("generation failed", generation_id=info.id, reason=reason, detail=detail[:500])
        failed = await self.generations.fail(info.id, reason, detail=detail[:1000])
        try:
            await self.delivery.failed(failed)
        except Exception:
            # The credits are back either way; the user sees the failure in My videos.
            log.exception("could not tell the user about a failed generation", generation_id=info.id)
