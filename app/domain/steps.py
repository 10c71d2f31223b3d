"""The steps of a generation's pipeline, in order, and what the user is told about each.

A generation is rendered step by step; each step records its output (``StepRecord``) so a retried or resumed
job starts at the first unfinished one. Which steps a generation needs depends on its format and captions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Step(StrEnum):
    SPEECH = "speech"  # the take's audio and word timings are there
    BACKDROP = "backdrop"  # background format: the character put on a flat chroma-green backdrop
    VIDEO = "video"  # the talking (lip-synced) video
    COMPOSITE = "composite"  # background format: green keyed out, the character over the user's video
    CAPTIONS = "captions"  # word-timed captions burned in
    STORE = "store"  # the final video, thumbnail and audio in storage
    DELIVER = "deliver"  # sent to the user


class StepStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"


# What the progress message says while a step runs: ``create.progress.step.<phase>``.
class Phase(StrEnum):
    QUEUED = "queued"
    SPEECH = "speech"
    VIDEO = "video"
    FINISHING = "finishing"


PHASES: Mapping[Step, Phase] = {
    Step.SPEECH: Phase.SPEECH,
    Step.BACKDROP: Phase.VIDEO,
    Step.VIDEO: Phase.VIDEO,
    Step.COMPOSITE: Phase.FINISHING,
    Step.CAPTIONS: Phase.FINISHING,
    Step.STORE: Phase.FINISHING,
    Step.DELIVER: Phase.FINISHING,
}


def plan_steps(video_format: str, captions: bool) -> tuple[Step, ...]:
    """The steps of a generation of ``video_format``, in the order they run."""
    background = video_format == "background"
    steps = [Step.SPEECH]
    if background:
        steps.append(Step.BACKDROP)
    steps.append(Step.VIDEO)
    if background:
        steps.append(Step.COMPOSITE)
    if captions:
        steps.append(Step.CAPTIONS)
    steps += [Step.STORE, Step.DELIVER]
    return tuple(steps)


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What the database knows of one step of one generation."""

    generation_id: int
    step: Step
    status: StepStatus
    request_id: str | None
    output: Mapping[str, Any]
    attempts: int
    error: str | None
    started_at: datetime
    finished_at: datetime | None

    @property
    def done(self) -> bool:
        return self.status == StepStatus.DONE


def dump_output(output: Mapping[str, Any]) -> str:
    """A step's output as stored: compact JSON (refuses what JSON cannot hold, e.g. NaN)."""
    return json.dumps(dict(output), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def load_output(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"a step output must be a JSON object, got {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff for transient provider errors."""

    attempts: int = 4
    base: float = 2.0
    cap: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or not math.isfinite(self.base) or self.base < 0 or self.cap < self.base:
            raise ValueError(f"a retry policy needs attempts ≥ 1 and 0 ≤ base ≤ cap, got {self}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        return float(min(self.cap, self.base * 2 ** max(attempt - 1, 0)))

    def may_retry(self, attempt: int) -> bool:
        return attempt < self.attempts


def words_to_data(words: Sequence[Any]) -> list[list[Any]]:
    """Word timings as JSON lists ``[word, start, end]`` (see ``providers.WordTiming``)."""
    return [[w.word, round(float(w.start), 3), round(float(w.end), 3)] for w in words]
