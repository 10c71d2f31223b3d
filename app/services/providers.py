"""Contracts for every outside thing a generation uses: speech, image edit, talking video, storage, queue.

Each has a local implementation (espeak-ng, Pillow, ffmpeg, a directory, an in-process runner) and, later, a
real one (ElevenLabs, fal.ai nano-banana / OmniHuman, R2, arq) that drops in behind the same Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

Gender = Literal["female", "male"]
AgeGroup = Literal["young", "adult", "senior"]
VideoFormat = Literal["talking_head", "background"]


class ProviderError(Exception):
    """A provider could not do the work. ``reason`` is a text key under ``errors.`` shown to the user."""

    def __init__(self, reason: str, detail: str = "", *, transient: bool = False) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.transient = transient


class EditRefused(ProviderError):  # noqa: N818  # a refusal, not a fault: reads better at raise sites
    """The image editor will not (safety) or cannot (local editor's limits) do what the prompt asks."""


@dataclass(frozen=True, slots=True)
class VoiceParams:
    """What a speech provider needs to know about a catalog voice."""

    voice_id: str
    language: str  # e.g. "ru", "en"
    local_voice: str  # espeak-ng voice name, e.g. "ru", "en-us", "en-gb+f3"
    pitch: int  # espeak-ng 0–99
    speed: int  # espeak-ng words per minute
    elevenlabs_voice_id: str


@dataclass(frozen=True, slots=True)
class WordTiming:
    word: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class SpeechTake:
    wav: Path  # for rendering
    ogg: Path  # OGG/Opus, sent to Telegram as a voice message
    duration: float  # seconds, measured from the audio
    words: tuple[WordTiming, ...]
    provider: str  # "local" or the real provider's name


class SpeechSynthesizer(Protocol):
    name: str  # "local" when offline; shown to the user

    async def synthesize(self, text: str, voice: VoiceParams, *, workdir: Path) -> SpeechTake: ...


@dataclass(frozen=True, slots=True)
class EditedImage:
    path: Path
    note: str  # what was actually done, in plain words (the local editor says what it could not do)
    provider: str


class ImageEditor(Protocol):
    name: str

    async def edit(self, image: Path, prompt: str, *, workdir: Path) -> EditedImage: ...


@dataclass(frozen=True, slots=True)
class RenderedVideo:
    path: Path  # MP4, H.264 + AAC, +faststart
    duration: float
    width: int
    height: int
    provider: str


class TalkingVideoMaker(Protocol):
    name: str

    async def make(
        self, image: Path, speech: Path, *, background: Path | None, workdir: Path
    ) -> RenderedVideo: ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    content_type: str


class ObjectStorage(Protocol):
    """Keys look like ``users/<user_id>/generations/<generation_id>/<name>``; ``tmp/…`` is temporary."""

    async def put_file(self, key: str, path: Path, *, content_type: str) -> StoredObject: ...

    async def get_file(self, key: str, dest: Path) -> Path: ...

    def local_path(self, key: str) -> Path | None:
        """A path on this machine for the object when the storage is local (sent by path), else None."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...


class JobQueue(Protocol):
    """Carries only generation ids; the database row is the truth. Enqueueing an id twice is a no-op."""

    async def enqueue(self, generation_id: int) -> None: ...
