"""Word timings of a take, for captions: the ones the speech provider stored with it, else an estimate."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from app.logs import get_logger
from app.services.providers import ObjectStorage, WordTiming
from app.services.speech.local import estimate_word_timings

log = get_logger(__name__)


async def word_timings(
    storage: ObjectStorage, key: str | None, *, script: str, seconds: float, scratch: Path
) -> tuple[WordTiming, ...]:
    """The timings stored at ``key`` (JSON ``[[word, start, end], …]``); an estimate from the script when
    there is no key or the stored file is missing or unreadable."""
    if key:
        await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
        dest = scratch / f"words-{abs(hash(key))}.json"
        try:
            await storage.get_file(key, dest)
            data = json.loads(await asyncio.to_thread(dest.read_text, encoding="utf-8"))
            return tuple(WordTiming(str(w), float(s), float(e)) for w, s, e in data)
        except (OSError, ValueError, TypeError) as exc:
            log.warning("stored word timings unusable; estimating", key=key, error=str(exc))
        finally:
            dest.unlink(missing_ok=True)
    return estimate_word_timings(script, seconds)


def words_json(words: tuple[WordTiming, ...] | list[WordTiming]) -> str:
    """The JSON :func:`word_timings` reads: ``[[word, start, end], …]``, times rounded to milliseconds."""
    return json.dumps([[w.word, round(w.start, 3), round(w.end, 3)] for w in words], ensure_ascii=False)
