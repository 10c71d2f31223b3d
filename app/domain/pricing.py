"""Prices in credits and the limits that bound a video: quotes, duration estimates, script length."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from app.domain.credits import Credits

VideoFormat = Literal["talking_head", "background"]
VIDEO_FORMATS: tuple[VideoFormat, ...] = ("talking_head", "background")

# Video is billed per started unit of speech of this length.
UNIT_SECONDS = 5
# Durations are measured from audio; a sub-millisecond excess over a unit is measurement noise, not speech.
_MS_PER_SECOND = 1000


@dataclass(frozen=True, slots=True)
class Quote:
    """The price of one video, part by part; ``total`` is what confirming holds."""

    speech: Credits
    video: Credits
    background: Credits
    total: Credits
    units: int
    """Started 5-second units of speech the video part is billed for."""


def started_units(speech_seconds: float) -> int:
    """Started ``UNIT_SECONDS`` units of speech: 5.0 s → 1, 5.01 s → 2; at least one unit."""
    if not math.isfinite(speech_seconds) or speech_seconds < 0:
        raise ValueError(f"speech duration must be a finite number of seconds ≥ 0, got {speech_seconds!r}")
    millis = round(speech_seconds * _MS_PER_SECOND)
    return max(1, math.ceil(millis / (UNIT_SECONDS * _MS_PER_SECOND)))


def script_chars(text: str) -> int:
    """Characters of a script as counted for limits and estimates: runs of whitespace count as one."""
    return len(" ".join(text.split()))


@dataclass(frozen=True, slots=True)
class Pricing:
    """Prices and limits from ``catalog/pricing.yaml`` (validated by ``app.services.pricing``)."""

    look_edit: Credits
    speech: Credits
    video_per_5s: Credits
    background_surcharge: Credits
    welcome_bonus: Credits
    max_video_seconds: int
    max_look_edits: int
    max_active_generations: int
    chars_per_second: Mapping[str, float]

    def __post_init__(self) -> None:
        if not self.chars_per_second:
            raise ValueError("chars_per_second needs at least one language")
        # Read-only, so a shared Pricing cannot be changed by one of its users.
        object.__setattr__(self, "chars_per_second", MappingProxyType(dict(self.chars_per_second)))

    def quote(self, video_format: VideoFormat, speech_seconds: float) -> Quote:
        """The price of a video of ``video_format`` whose speech lasts ``speech_seconds``."""
        if video_format not in VIDEO_FORMATS:
            raise ValueError(f"unknown video format {video_format!r}")
        units = started_units(speech_seconds)
        video = units * self.video_per_5s
        background = self.background_surcharge if video_format == "background" else 0
        return Quote(
            speech=self.speech,
            video=video,
            background=background,
            total=self.speech + video + background,
            units=units,
        )

    def fits(self, speech_seconds: float) -> bool:
        """True when speech of this length makes a video within ``max_video_seconds`` (to the millisecond)."""
        return round(speech_seconds * _MS_PER_SECOND) <= self.max_video_seconds * _MS_PER_SECOND

    def rate(self, language: str) -> float:
        """Characters per second of speech in ``language``; an unknown one gets the slowest rate we know."""
        # The slowest rate gives the longest estimate, so a script never looks cheaper or shorter than it is.
        return self.chars_per_second.get(language) or min(self.chars_per_second.values())

    def estimate_seconds(self, text: str, language: str) -> float:
        """How long ``text`` will take to speak in ``language``, before any speech is made."""
        return script_chars(text) / self.rate(language)

    def estimate(self, video_format: VideoFormat, text: str, language: str) -> Quote:
        """The expected price of a video for ``text``; the real one comes from the measured speech."""
        return self.quote(video_format, self.estimate_seconds(text, language))

    def max_script_chars(self, language: str) -> int:
        """The longest script (in ``script_chars``) whose estimate fits ``max_video_seconds``."""
        # Rounded first: 30 × 14.1 is 422.99999999999994 in binary floating point, and means 423.
        return math.floor(round(self.max_video_seconds * self.rate(language), 6))
