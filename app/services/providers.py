"""Contracts for every outside thing a generation uses: speech, image edit, talking video, storage, queue.

Each has a local implementation (espeak-ng, Pillow, ffmpeg, a directory, an in-process runner) and, later, a
real one (ElevenLabs, fal.ai nano-banana / OmniHuman, R2, arq) that drops in behind the same Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

Gender = Literal["female", "male"]
AgeGroup = Literal["young", "adult", "senior"]
VideoFormat = Literal["talking_head", "background"]


# Every ``ProviderError.reason`` a provider or the pipeline may give: each is a text ``errors.<reason>``.
FAILURE_REASONS = (
    "speech_failed",
    "edit_failed",
    "edit_unsupported",
    "video_failed",
    "missing_file",
    "internal",
    "video_timeout",
    "timeout",
    "video_too_large",
    "provider_busy",
    "provider_unavailable",
    "provider_rejected",
    "provider_auth",
    "content_refused",
    "speech_too_long",
    "storage_failed",
    "provider_quota",
    "voice_unavailable",
    "script_too_long",
    "cancelled_by_admin",
)


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
class ProviderCost:
    """What one paid call to a provider cost, for the operators' cost ledger (never shown to users)."""

    provider: str  # "elevenlabs", "fal"
    model: str  # e.g. "eleven_multilingual_v2", "fal-ai/bytedance/omnihuman/v1.5"
    units: float  # how many of ``unit`` were billed
    unit: str  # "characters", "seconds", "images"
    usd: float  # an estimate from the published price (docs/providers.md)
    request_id: str | None = None


class OperatorAlerts(Protocol):
    """Tells the operators about something only they can fix (a revoked key, an exhausted quota)."""

    async def alert(self, topic: str, text: str) -> None:
        """Send ``text``; repeated alerts of one ``topic`` are throttled by the implementation."""
        ...


@dataclass(frozen=True, slots=True)
class ElevenLabsVoiceSettings:
    """``voice_settings`` of an ElevenLabs request; None fields are left to the voice's own defaults."""

    stability: float | None = None
    similarity_boost: float | None = None
    style: float | None = None
    use_speaker_boost: bool | None = None
    speed: float | None = None


@dataclass(frozen=True, slots=True)
class VoiceParams:
    """What a speech provider needs to know about a catalog voice."""

    voice_id: str
    language: str  # e.g. "ru", "en"
    local_voice: str  # espeak-ng voice name, e.g. "ru", "en-us", "en-gb+f3"
    pitch: int  # espeak-ng 0–99
    speed: int  # espeak-ng words per minute
    elevenlabs_voice_id: str
    elevenlabs_settings: ElevenLabsVoiceSettings = ElevenLabsVoiceSettings()


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
    cost: ProviderCost | None = None  # None: nothing was paid (local, or a reused take)


class SpeechSynthesizer(Protocol):
    name: str  # "local" when offline; shown to the user

    async def synthesize(self, text: str, voice: VoiceParams, *, workdir: Path) -> SpeechTake: ...


@dataclass(frozen=True, slots=True)
class EditedImage:
    path: Path
    note: str  # what was actually done, in plain words (the local editor says what it could not do)
    provider: str
    cost: ProviderCost | None = None


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
    cost: ProviderCost | None = None


class TalkingVideoMaker(Protocol):
    """A lip-synced talking video of a still and a speech, as a job the provider runs on its side.

    The worker stores the id :meth:`submit` returns *before* it waits, so a restarted worker resumes with
    :meth:`collect` instead of paying for a second render.
    """

    name: str

    async def submit(self, image: Path, speech: Path, *, workdir: Path, reference: str = "") -> str:
        """Start a render; returns the provider's request id. ``reference`` names what the render is for (e.g.
        ``g42``); a provider that reports completion by webhook sends it back. Raises ``ProviderError``
        (``transient`` when a retry may help: 429, 5xx, timeouts; permanent for refusals and validation)."""
        ...

    async def collect(self, request_id: str, *, workdir: Path) -> RenderedVideo | None:
        """The finished video, downloaded into ``workdir``; None while the provider is still working.

        Raises ``ProviderError``: permanent when the provider reports the request failed (fal.ai says
        COMPLETED with an ``error``), transient when asking failed (network, 5xx)."""
        ...


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

    async def presigned_url(self, key: str, *, expires: int) -> str | None:
        """A URL anyone may GET the object from for ``expires`` seconds; None when the storage cannot make
        one (a local directory)."""
        ...


class JobQueue(Protocol):
    """Carries only generation ids; the database row is the truth. Enqueueing an id twice is a no-op."""

    async def enqueue(self, generation_id: int) -> None: ...

    async def enqueue_preview(self, user_id: int, draft_id: str, n: int, draft: dict[str, Any]) -> bool:
        """Queue free preview ``n`` of a draft (its ``Draft.to_data()``); False if it is already queued."""
        ...

    async def enqueue_broadcast(self, broadcast_id: int) -> None:
        """Queue the sending of an admin broadcast; a second enqueue of one broadcast is a no-op."""
        ...
