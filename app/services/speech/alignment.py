"""Word timings from a provider's per-character alignment (ElevenLabs ``/with-timestamps``).

The alignment is outside data: the arrays may differ in length, hold negative, non-finite or unsorted
times. Captions need words whose times never run backwards, so every time is clamped forward rather
than trusted, and a word is kept even when its letters lost their times (it is placed where the last
known time left off).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from app.services.providers import WordTiming


def words_from_alignment(
    characters: Sequence[object],
    starts: Sequence[object],
    ends: Sequence[object],
    *,
    duration: float | None = None,
) -> tuple[WordTiming, ...]:
    """Words split on whitespace: each starts at its first letter's start and ends at its last letter's end.

    Times are made monotonic (never before the previous word's end, an end never before its start) and,
    when ``duration`` is given, kept within ``[0, duration]``.
    """
    limit = duration if duration is not None and math.isfinite(duration) and duration >= 0 else math.inf
    words: list[WordTiming] = []
    letters: list[str] = []
    word_start = word_end = 0.0
    cursor = 0.0  # the latest time seen so far: nothing may start before it
    for index, element in enumerate(characters):
        text = element if isinstance(element, str) else str(element)
        start = min(max(_time(starts, index, cursor), cursor), limit)
        end = min(max(_time(ends, index, start), start), limit)
        for char in text:
            if char.isspace():
                if letters:
                    words.append(WordTiming("".join(letters), word_start, word_end))
                    letters = []
                continue
            if not letters:
                word_start = start
            letters.append(char)
            word_end = end
        cursor = start
    if letters:
        words.append(WordTiming("".join(letters), word_start, word_end))
    return _monotonic(words)


def _time(times: Sequence[object], index: int, fallback: float) -> float:
    """``times[index]`` as seconds; ``fallback`` when it is missing, not a number, negative or infinite."""
    if index >= len(times):
        return fallback
    value = times[index]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return fallback
    try:
        seconds = float(value)
    except ValueError:
        return fallback
    return seconds if math.isfinite(seconds) and seconds >= 0 else fallback


def _monotonic(words: list[WordTiming]) -> tuple[WordTiming, ...]:
    """Each word starting no earlier than the previous one ends (character ends may overlap the next word)."""
    out: list[WordTiming] = []
    previous_end = 0.0
    for word in words:
        start = max(word.start, previous_end)
        end = max(word.end, start)
        out.append(WordTiming(word.word, start, end))
        previous_end = end
    return tuple(out)
