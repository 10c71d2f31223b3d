"""A speech take paid for once: the same script in the same voice is served again from storage.

Users listen to a take, go back, and ask for the same words again; a paid provider would bill every
time. :class:`ReusingSpeech` keeps each take (WAV, OGG/Opus, word timings, duration) under
``cache/speech/<sha256>/`` and answers a repeat from there with ``cost=None``. The key covers everything
that changes the audio — provider, model, output format, every voice parameter and the exact text — so
a different script or voice is a new call. An entry that is missing, half-written or unreadable is
treated as absent: the provider is asked again and the entry rewritten.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

from app.logs import get_logger
from app.services.media_probe import MediaProblem, probe_duration
from app.services.providers import ObjectStorage, SpeechSynthesizer, SpeechTake, VoiceParams, WordTiming

log = get_logger(__name__)

CACHE_PREFIX = "cache/speech"
FORMAT_VERSION = 1  # bump when the stored layout changes: old entries then miss instead of misleading
# A stored file whose measured length strays this far from the recorded one is a damaged copy.
DURATION_TOLERANCE = 0.25
WAV_NAME, OGG_NAME, WORDS_NAME, TAKE_NAME = "speech.wav", "speech.ogg", "words.json", "take.json"


def take_key(synthesizer: SpeechSynthesizer, text: str, voice: VoiceParams) -> str:
    """The sha256 naming a take: provider, model and format when it has them, the voice, the exact text."""
    fields: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "provider": synthesizer.name,
        "model": getattr(synthesizer, "model_id", None),
        "format": getattr(synthesizer, "output_format", None),
        "voice": dataclasses.asdict(voice),
        "text": text,
    }
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Miss(Exception):  # noqa: N818  (control flow inside this module: the entry is not usable)
    pass


class ReusingSpeech:
    """``SpeechSynthesizer`` serving a repeated take from ``storage`` instead of paying ``inner`` again."""

    def __init__(
        self, inner: SpeechSynthesizer, storage: ObjectStorage, *, scratch_dir: Path, ffprobe: str = "ffprobe"
    ) -> None:
        self._inner = inner
        self._storage = storage
        self._scratch = scratch_dir
        self._ffprobe = ffprobe
        # Two identical takes at once in this process pay once: the second waits and reads the first.
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}  # callers holding or awaiting each lock, to drop it after the last
        self.name = inner.name

    def __repr__(self) -> str:
        return f"ReusingSpeech({self._inner!r})"

    async def synthesize(self, text: str, voice: VoiceParams, *, workdir: Path) -> SpeechTake:
        """The stored take of ``text`` in ``voice`` (``cost=None``), else a new one from the provider."""
        if not text.strip():
            raise ValueError("nothing to say: the text is blank")
        digest = take_key(self._inner, text, voice)
        lock = self._locks.setdefault(digest, asyncio.Lock())
        self._users[digest] = self._users.get(digest, 0) + 1
        try:
            async with lock:
                stored = await self._load(digest, workdir)
                if stored is not None:
                    log.info("speech take reused", provider=self.name, key=digest[:12])
                    return stored
                take = await self._inner.synthesize(text, voice, workdir=workdir)
                await self._save(digest, take)
                return take
        finally:
            self._users[digest] -= 1
            if not self._users[digest]:
                del self._users[digest], self._locks[digest]

    async def _load(self, digest: str, workdir: Path) -> SpeechTake | None:
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        stem = f"speech-{secrets.token_hex(4)}"
        wav, ogg = workdir / f"{stem}.wav", workdir / f"{stem}.ogg"
        try:
            meta = await self._read_json(_key(digest, TAKE_NAME))
            duration, provider = _meta(meta)
            words = _words(await self._read_json(_key(digest, WORDS_NAME)))
            await self._storage.get_file(_key(digest, WAV_NAME), wav)
            await self._storage.get_file(_key(digest, OGG_NAME), ogg)
            for path in (wav, ogg):
                measured = await probe_duration(path, ffprobe=self._ffprobe)
                if abs(measured - duration) > DURATION_TOLERANCE:
                    raise _Miss(f"{path.suffix} lasts {measured:.2f} s, the entry says {duration:.2f} s")
        except FileNotFoundError:
            await _remove(wav, ogg)
            return None  # the usual case: never made (or partly removed)
        except (_Miss, MediaProblem, OSError, ValueError, TypeError, KeyError) as exc:
            log.warning(
                "stored speech take unusable; asking the provider again", key=digest[:12], error=str(exc)
            )
            await _remove(wav, ogg)
            return None
        return SpeechTake(wav=wav, ogg=ogg, duration=duration, words=words, provider=provider, cost=None)

    async def _save(self, digest: str, take: SpeechTake) -> None:
        """Store the take; the entry's ``take.json`` goes last, so a reader never sees half an entry."""
        await asyncio.to_thread(self._scratch.mkdir, parents=True, exist_ok=True)
        words_file = self._scratch / f"words-{digest[:16]}-{secrets.token_hex(4)}.json"
        take_file = self._scratch / f"take-{digest[:16]}-{secrets.token_hex(4)}.json"
        words = [[w.word, w.start, w.end] for w in take.words]
        meta = {"version": FORMAT_VERSION, "duration": take.duration, "provider": take.provider}
        try:
            await asyncio.to_thread(_write_json, words_file, words)
            await asyncio.to_thread(_write_json, take_file, meta)
            await self._storage.put_file(_key(digest, WAV_NAME), take.wav, content_type="audio/wav")
            await self._storage.put_file(_key(digest, OGG_NAME), take.ogg, content_type="audio/ogg")
            await self._storage.put_file(
                _key(digest, WORDS_NAME), words_file, content_type="application/json"
            )
            await self._storage.put_file(_key(digest, TAKE_NAME), take_file, content_type="application/json")
        except Exception as exc:  # any storage failure (S3 errors are not OSError) must not lose a paid take
            log.warning(
                "speech take not stored for reuse; a repeat will pay again",
                key=digest[:12],
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
        finally:
            await _remove(words_file, take_file)

    async def _read_json(self, key: str) -> Any:
        await asyncio.to_thread(self._scratch.mkdir, parents=True, exist_ok=True)
        dest = self._scratch / f"read-{secrets.token_hex(6)}.json"
        try:
            await self._storage.get_file(key, dest)
            return json.loads(await asyncio.to_thread(dest.read_text, encoding="utf-8"))
        finally:
            await _remove(dest)


def _key(digest: str, name: str) -> str:
    return f"{CACHE_PREFIX}/{digest}/{name}"


def _meta(data: Any) -> tuple[float, str]:
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise _Miss("take.json of another format")
    duration = float(data["duration"])
    if not duration > 0:
        raise _Miss(f"duration {duration!r}")
    return duration, str(data.get("provider") or "")


def _words(data: Any) -> tuple[WordTiming, ...]:
    if not isinstance(data, list):
        raise _Miss("words.json is not a list")
    return tuple(WordTiming(str(w), float(s), float(e)) for w, s, e in data)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


async def _remove(*paths: Path) -> None:
    for path in paths:
        await asyncio.to_thread(path.unlink, missing_ok=True)
