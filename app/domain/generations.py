"""Generations: the draft a user builds, a generation's life cycle and what the rest of the program sees.

A generation is ``queued`` when confirmed (its cost held), ``running`` while the worker renders it, then
``done`` (the hold captured) or ``failed`` (the hold released). A finished one can be ``deleted`` from the
user's list.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.credits import Credits
from app.domain.pricing import VIDEO_FORMATS, VideoFormat

# Column sizes; catalog ids travel in callback data, object keys look like users/<id>/generations/<id>/x.mp4.
MAX_CATALOG_ID = 64
MAX_OBJECT_KEY = 255
MAX_FILE_ID = 255
MAX_STEP = 32
MAX_REQUEST_ID = 1000  # a fal.ai request with its status/result/cancel URLs, as JSON
MAX_ERROR_REASON = 128
MAX_ERROR_DETAIL = 1000
DRAFT_ID_LENGTH = 32


class GenerationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DELETED = "deleted"


ACTIVE_STATUSES = frozenset({GenerationStatus.QUEUED, GenerationStatus.RUNNING})
FINISHED_STATUSES = frozenset({GenerationStatus.DONE, GenerationStatus.FAILED})


class GenerationError(Exception):
    """Base of the refusals of the generations service."""


class TooManyActive(GenerationError):  # noqa: N818  (the name the product and the brief use)
    """The user already has ``limit`` generations queued or rendering; nothing was written."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} videos may be in progress at once")
        self.limit = limit


class GenerationNotFound(GenerationError, LookupError):  # noqa: N818  (reads as the situation)
    def __init__(self, generation_id: int) -> None:
        super().__init__(f"no generation with id {generation_id}")
        self.generation_id = generation_id


class GenerationStateError(GenerationError):
    """An action that the generation's status does not allow, e.g. releasing a captured hold."""

    def __init__(self, generation_id: int, status: GenerationStatus, action: str) -> None:
        super().__init__(f"generation {generation_id} is {status.value}: cannot {action}")
        self.generation_id = generation_id
        self.status = status
        self.action = action


class DraftIncomplete(GenerationError, ValueError):  # noqa: N818  (reads as the situation)
    """A draft confirmed before every choice the video needs was made."""

    def __init__(self, missing: tuple[str, ...]) -> None:
        super().__init__(f"the draft lacks {', '.join(missing)}")
        self.missing = missing


class SpeechTooLong(GenerationError, ValueError):  # noqa: N818  (reads as the situation)
    def __init__(self, seconds: float, limit: int) -> None:
        super().__init__(f"speech of {seconds:.2f} s is longer than the {limit} s a video may last")
        self.seconds = seconds
        self.limit = limit


class LookEditLimit(GenerationError):  # noqa: N818  (reads as the situation)
    """The draft already has ``limit`` charged look edits."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} look edits per video")
        self.limit = limit


class DraftDataError(ValueError):
    """Stored draft data that does not describe a draft (e.g. written by an older version)."""


def _optional(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return (*(kind if isinstance(kind, tuple) else (kind,)), type(None))


# How each stored field must look; ints are accepted for the duration since JSON may have dropped ".0".
_DATA_TYPES: dict[str, tuple[type, ...]] = {
    "user_id": (int,),
    "draft_id": (str,),
    "format": _optional(str),
    "background_key": _optional(str),
    "character_id": _optional(str),
    "edited_image_key": _optional(str),
    "voice_id": _optional(str),
    "script": _optional(str),
    "speech_key": _optional(str),
    "speech_ogg_key": _optional(str),
    "speech_seconds": _optional((int, float)),
    "speech_words_key": _optional(str),
    "locale": _optional(str),
    "captions": (bool,),
    "caption_style": _optional(str),
}


@dataclass(frozen=True, slots=True)
class Draft:
    """The choices of one video in the making; kept in dialog_data as ``to_data()`` between clicks.

    The ``with_*`` methods clear what a change makes stale: a new voice or script needs new speech, a new
    character drops the edited look, the talking-head format has no background.
    """

    user_id: int
    draft_id: str
    format: VideoFormat | None = None
    background_key: str | None = None
    character_id: str | None = None
    edited_image_key: str | None = None
    voice_id: str | None = None
    script: str | None = None
    speech_key: str | None = None
    speech_ogg_key: str | None = None
    speech_seconds: float | None = None
    speech_words_key: str | None = None
    locale: str | None = None
    captions: bool = True
    caption_style: str | None = None

    @classmethod
    def new(cls, user_id: int, locale: str, *, draft_id: str | None = None) -> Draft:
        """An empty draft with a fresh id."""
        return cls(user_id=user_id, draft_id=draft_id or uuid.uuid4().hex, locale=locale)

    def again(self) -> Draft:
        """The same format, background, character, look and voice under a new id, with no script or speech."""
        return replace(self, draft_id=uuid.uuid4().hex, script=None, **_NO_SPEECH)

    def with_format(self, video_format: VideoFormat) -> Draft:
        if video_format not in VIDEO_FORMATS:
            raise ValueError(f"unknown video format {video_format!r}")
        background = self.background_key if video_format == "background" else None
        return replace(self, format=video_format, background_key=background)

    def with_background(self, key: str | None) -> Draft:
        return replace(self, background_key=key)

    def with_character(self, character_id: str) -> Draft:
        if character_id == self.character_id:
            return self
        return replace(self, character_id=character_id, edited_image_key=None)

    def with_edited_image(self, key: str | None) -> Draft:
        """The look to use; None goes back to the character's original photo."""
        return replace(self, edited_image_key=key)

    def with_voice(self, voice_id: str) -> Draft:
        if voice_id == self.voice_id:
            return self
        return replace(self, voice_id=voice_id, **_NO_SPEECH)

    def with_script(self, script: str) -> Draft:
        if script == self.script:
            return self
        return replace(self, script=script, **_NO_SPEECH)

    def with_speech(
        self,
        *,
        speech_key: str,
        speech_ogg_key: str | None,
        speech_seconds: float,
        speech_words_key: str | None = None,
    ) -> Draft:
        if not math.isfinite(speech_seconds) or speech_seconds <= 0:
            raise ValueError(f"speech must last a positive number of seconds, got {speech_seconds!r}")
        return replace(
            self,
            speech_key=speech_key,
            speech_ogg_key=speech_ogg_key,
            speech_seconds=float(speech_seconds),
            speech_words_key=speech_words_key,
        )

    def with_captions(self, on: bool, style: str | None = None) -> Draft:
        """Captions burned in (``style`` by name, None: the default style) or not."""
        return replace(self, captions=on, caption_style=style if on else None)

    def missing(self) -> tuple[str, ...]:
        """Names of the fields a generation still needs, in the order the flow asks for them."""
        needed: list[str] = []
        if self.format is None:
            needed.append("format")
        elif self.format == "background" and not self.background_key:
            needed.append("background_key")
        for name in ("character_id", "voice_id", "script", "speech_key", "speech_seconds", "locale"):
            value = getattr(self, name)
            if value is None or (isinstance(value, str) and not value.strip()):
                needed.append(name)
        return tuple(needed)

    @property
    def ready(self) -> bool:
        return not self.missing()

    def to_data(self) -> dict[str, Any]:
        """A JSON-safe dict for dialog_data (and so for Redis)."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Draft:
        """The draft stored by ``to_data``; unknown keys are ignored, optional ones may be absent."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            name = item.name
            if name not in data:
                if name in ("user_id", "draft_id"):
                    raise DraftDataError(f"draft data lacks {name}")
                continue
            value = data[name]
            kinds = _DATA_TYPES[name]
            if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
                raise DraftDataError(f"draft field {name} has a {type(value).__name__}: {value!r}")
            values[name] = value
        if values.get("format") is not None and values["format"] not in VIDEO_FORMATS:
            raise DraftDataError(f"unknown video format {values['format']!r}")
        if values.get("speech_seconds") is not None:
            values["speech_seconds"] = float(values["speech_seconds"])
        return cls(**values)


_NO_SPEECH: dict[str, Any] = {
    "speech_key": None,
    "speech_ogg_key": None,
    "speech_seconds": None,
    "speech_words_key": None,
}


@dataclass(frozen=True, slots=True)
class GenerationInfo:
    """One generation as the flow, the worker and My videos see it."""

    id: int
    user_id: int
    format: VideoFormat
    character_id: str
    voice_id: str
    script: str
    status: GenerationStatus
    step: str | None
    cost: Credits
    error_reason: str | None
    video_key: str | None
    audio_key: str | None
    video_file_id: str | None
    audio_file_id: str | None
    created_at: datetime
    finished_at: datetime | None
    refunded: bool
    """True once the held cost went back to the user (the generation failed)."""
    # What the worker renders from; defaults keep hand-built infos (in tests) short.
    draft_id: str = ""
    locale: str = ""
    background_key: str | None = None
    edited_image_key: str | None = None
    speech_key: str = ""
    speech_ogg_key: str | None = None
    speech_seconds: float = 0.0
    started_at: datetime | None = None
    error_detail: str | None = None
    speech_words_key: str | None = None
    captions: bool = False
    caption_style: str | None = None
    thumb_key: str | None = None
    video_width: int | None = None
    video_height: int | None = None
    video_seconds: float | None = None
    attempts: int = 0
    heartbeat_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    generation_id: int
    created: bool
    """False when the key was confirmed before (a double tap): nothing new was written."""
    cost: Credits


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of a user's videos, newest first; ``page`` is 0-based and always within ``range(pages)``."""

    items: tuple[GenerationInfo, ...]
    page: int
    pages: int
    total: int


def page_bounds(total: int, page: int, page_size: int) -> tuple[int, int]:
    """The page clamped into range and the number of pages (at least one: an empty list is page 0 of 1)."""
    if page_size < 1:
        raise ValueError(f"page size must be at least 1, got {page_size}")
    pages = max(1, math.ceil(total / page_size))
    return min(max(page, 0), pages - 1), pages


def check_can_start(generation_id: int, status: GenerationStatus, action: str) -> None:
    """Progress (start, next step) is only for a generation still in progress."""
    if status not in ACTIVE_STATUSES:
        raise GenerationStateError(generation_id, status, action)


def settles(generation_id: int, status: GenerationStatus, target: GenerationStatus) -> bool:
    """Whether finishing as ``target`` must write the settlement now (False: it already happened).

    Capture (``done``) and release (``failed``) exclude each other: the one that comes second is refused;
    repeating the one that happened is a harmless no-op, so a retried worker step cannot settle twice.
    """
    if target not in FINISHED_STATUSES:
        raise ValueError(f"{target.value} does not finish a generation")
    if status in ACTIVE_STATUSES:
        return True
    if status == target:
        return False
    action = "capture its hold" if target == GenerationStatus.DONE else "release its hold"
    raise GenerationStateError(generation_id, status, action)


def video_format(value: str) -> VideoFormat:
    """A stored format string as the typed literal."""
    if value not in VIDEO_FORMATS:
        raise ValueError(f"unknown video format {value!r}")
    return value
