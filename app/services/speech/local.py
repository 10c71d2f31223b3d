"""Offline speech: espeak-ng renders the script to WAV, ffmpeg makes the OGG/Opus voice message.

The script is user text: it reaches espeak-ng through a file (``-f``), never a shell or argv, and markup
interpretation stays off (no ``-m``), so HTML, quotes, newlines and leading dashes are all spoken as text.
Word timings are an estimate: espeak-ng reports no alignment, so the measured duration is split across the
words in proportion to their letters — good enough to pace captions, not to sync lips.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from app.services.media_probe import MediaProblem, MediaToolError, file_url, probe_duration, run_media_tool
from app.services.providers import ProviderError, SpeechTake, VoiceParams, WordTiming

PITCH_RANGE = (0, 99)
SPEED_RANGE = (80, 450)  # espeak-ng words per minute
# Below this the take is silence (a script of only punctuation), not speech a user can listen to.
MIN_SPEECH_SECONDS = 0.15
# espeak-ng reads ``[[...]]`` as phoneme mnemonics even with markup off; a space keeps the brackets literal.
_PHONEME_OPEN = re.compile(r"\[(?=\[)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WORD_CHAR = re.compile(r"\w")


class LocalSpeech:
    """``SpeechSynthesizer`` on espeak-ng; word timings are estimated (espeak-ng reports no alignment)."""

    name = "local"

    def __init__(
        self,
        *,
        espeak: str = "espeak-ng",
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
        time_limit: float = 120.0,
    ) -> None:
        self._espeak = espeak
        self._ffmpeg = ffmpeg
        self._ffprobe = ffprobe
        self._time_limit = time_limit

    async def synthesize(self, text: str, voice: VoiceParams, *, workdir: Path) -> SpeechTake:
        """WAV + OGG/Opus of ``text``; ValueError if blank, ProviderError("speech_failed") on failure."""
        if not text.strip():
            raise ValueError("nothing to say: the text is blank")
        workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  (a local directory, once per take)
        stem = f"speech-{secrets.token_hex(4)}"  # a new take never overwrites the one being listened to
        script, wav, ogg = (workdir / f"{stem}{ext}" for ext in (".txt", ".wav", ".ogg"))
        script.write_text(espeak_input(text), encoding="utf-8")
        espeak_args = [
            self._espeak, "-b", "1", "-v", voice.local_voice,
            "-p", str(_clamp(voice.pitch, PITCH_RANGE)), "-s", str(_clamp(voice.speed, SPEED_RANGE)),
            "-w", str(wav), "-f", str(script),
        ]  # fmt: skip
        opus_args = [
            self._ffmpeg, "-nostdin", "-y", "-v", "error", "-i", file_url(wav),
            "-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "32k", "-application", "voip",
            file_url(ogg),
        ]  # fmt: skip
        try:
            await run_media_tool(espeak_args, time_limit=self._time_limit)
            duration = await probe_duration(wav, ffprobe=self._ffprobe)
            if duration < MIN_SPEECH_SECONDS:
                raise ProviderError("speech_failed", f"espeak-ng produced {duration:.3f} s of audio")
            await run_media_tool(opus_args, time_limit=self._time_limit)
        except (MediaToolError, MediaProblem) as exc:
            raise ProviderError("speech_failed", str(exc)) from exc
        finally:
            script.unlink(missing_ok=True)
        words = estimate_word_timings(text, duration)
        return SpeechTake(wav=wav, ogg=ogg, duration=duration, words=words, provider=self.name)


def espeak_input(text: str) -> str:
    """The script as espeak-ng must receive it to speak it literally."""
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _PHONEME_OPEN.sub("[ ", text).strip() + "\n"


def estimate_word_timings(text: str, duration: float) -> tuple[WordTiming, ...]:
    """Words timed by splitting ``duration`` in proportion to their letters (an estimate, no alignment)."""
    words = text.split()
    weights = [max(1, len(_WORD_CHAR.findall(word))) for word in words]
    total = sum(weights)
    timings: list[WordTiming] = []
    start = 0.0
    for index, (word, weight) in enumerate(zip(words, weights, strict=True)):
        # The last word ends exactly at the duration, whatever the float rounding on the way.
        end = duration if index == len(words) - 1 else start + duration * weight / total
        timings.append(WordTiming(word=word, start=start, end=end))
        start = end
    return tuple(timings)


def _clamp(value: int, bounds: tuple[int, int]) -> int:
    return min(max(value, bounds[0]), bounds[1])
