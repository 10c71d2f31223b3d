"""ElevenLabs text-to-speech over httpx: ``/with-timestamps`` takes, so captions follow the real speech.

Every answer ElevenLabs gives becomes a take or a :class:`ProviderError` whose ``transient`` flag tells the
worker whether asking again may help. Busy answers (429), outages (5xx) and network failures are retried
here with exponential backoff and jitter; what only an operator can fix (a revoked key, an exhausted
quota) also raises an operator alert. The key travels only in the ``xi-api-key`` header — never into a
message, a log line or ``repr``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import random
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.logs import get_logger
from app.services.media_probe import MediaProblem, MediaToolError, file_url, probe_duration, run_media_tool
from app.services.providers import (
    ElevenLabsVoiceSettings,
    OperatorAlerts,
    ProviderCost,
    ProviderError,
    SpeechTake,
    VoiceParams,
    WordTiming,
)
from app.services.speech.alignment import words_from_alignment
from app.services.speech.local import MIN_SPEECH_SECONDS, estimate_word_timings

log = get_logger(__name__)

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
DEFAULT_MODEL = "eleven_multilingual_v2"
DEFAULT_OUTPUT_FORMAT = "mp3_44100_128"
# Characters one request may carry (docs/external-apis.md §3; the v3 figure is unverified). A model not
# listed gets the smallest known limit: a refusal after paying nothing beats a 400 from ElevenLabs.
CHARACTER_LIMITS: Mapping[str, int] = {
    "eleven_flash_v2_5": 40_000,
    "eleven_turbo_v2_5": 40_000,
    "eleven_multilingual_v2": 10_000,
    "eleven_v3": 5_000,
}
UNKNOWN_MODEL_LIMIT = 5_000
# Models that take ``language_code``; the others answer 400 to it, so it is sent to these only.
LANGUAGE_CODE_MODELS = frozenset({"eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_v3"})
# Price estimate for the cost ledger: $0.30 per 1,000 credits (roughly the Creator plan's overage price).
# Flash and turbo models bill 1 credit per 2 characters, the others 1 per character.
USD_PER_CREDIT = 0.30 / 1000
HALF_PRICE_MODEL_WORDS = ("flash", "turbo")

DETAIL_LIMIT = 600
REDACTED = "<redacted>"
VOICES_PAGE_SIZE = 100
MAX_VOICE_PAGES = 100  # 10,000 voices: more means a paging token that never ends
MEDIA_TIME_LIMIT = 120.0
QUOTA_WORDS = frozenset({"quota_exceeded"})
AUTH_WORDS = frozenset({"invalid_api_key", "missing_permissions", "needs_authorization"})
VOICE_WORDS = frozenset({"voice_not_found", "voice_does_not_exist"})
TOO_LONG_WORDS = frozenset({"max_character_limit_exceeded"})
ALERT_QUOTA = "elevenlabs:quota"
ALERT_AUTH = "elevenlabs:auth"

_SAMPLE_RATE = re.compile(r"_(\d{4,6})(?:_|$)")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class AccountVoice:
    """A voice of the ElevenLabs account, as ``GET /v2/voices`` lists it."""

    voice_id: str
    name: str
    category: str = ""  # "premade", "cloned", "generated", "professional"…
    labels: Mapping[str, str] = field(default_factory=dict)  # gender, age, accent, use case…


@dataclass(frozen=True, slots=True)
class _Answer:
    """An ElevenLabs error answer, read whatever its shape."""

    code: int
    status: str  # ``detail.status``, e.g. "quota_exceeded"; empty when the body has none
    message: str


def character_limit(model_id: str) -> int:
    return CHARACTER_LIMITS.get(model_id, UNKNOWN_MODEL_LIMIT)


def takes_language_code(model_id: str) -> bool:
    return model_id in LANGUAGE_CODE_MODELS


def estimated_credits(model_id: str, characters: int) -> int:
    """What ElevenLabs bills for ``characters`` when its ``character-cost`` header is missing."""
    if any(word in model_id for word in HALF_PRICE_MODEL_WORDS):
        return math.ceil(characters / 2)
    return characters


def voice_settings_json(settings: ElevenLabsVoiceSettings) -> dict[str, Any] | None:
    """``voice_settings`` of the request: only the fields the catalog sets; None when it sets none."""
    values = {
        "stability": settings.stability,
        "similarity_boost": settings.similarity_boost,
        "style": settings.style,
        "use_speaker_boost": settings.use_speaker_boost,
        "speed": settings.speed,
    }
    chosen = {name: value for name, value in values.items() if value is not None}
    return chosen or None


class ElevenLabsSpeech:
    """``SpeechSynthesizer`` on ElevenLabs; ``http`` belongs to the caller, who also closes it."""

    name = "elevenlabs"

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        model_id: str = DEFAULT_MODEL,
        output_format: str = DEFAULT_OUTPUT_FORMAT,
        concurrency: int = 3,
        tries: int = 4,
        first_backoff: float = 0.5,
        max_backoff: float = 8.0,
        timeout: float = 180.0,
        alerts: OperatorAlerts | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
    ) -> None:
        if not api_key.strip():
            raise ValueError("the ElevenLabs API key is empty: set ELEVENLABS_API_KEY")
        if tries < 1:
            raise ValueError(f"tries must be at least 1, not {tries}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self._http = http
        self._key = api_key
        self._base_url = base_url.rstrip("/")
        self._model_id = model_id
        self._output_format = output_format
        self._slots = asyncio.Semaphore(concurrency)
        self._tries = tries
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._timeout = timeout
        self._alerts = alerts
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._ffmpeg = ffmpeg
        self._ffprobe = ffprobe

    def __repr__(self) -> str:
        return f"ElevenLabsSpeech(base_url={self._base_url!r}, model_id={self._model_id!r})"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def output_format(self) -> str:
        return self._output_format

    async def synthesize(self, text: str, voice: VoiceParams, *, workdir: Path) -> SpeechTake:
        """WAV + OGG/Opus of ``text`` with word timings from ElevenLabs' alignment.

        ValueError if blank; ProviderError("script_too_long") before any call when over the model's limit.
        """
        if not text.strip():
            raise ValueError("nothing to say: the text is blank")
        limit = character_limit(self._model_id)
        if len(text) > limit:
            raise ProviderError(
                "script_too_long", f"{len(text)} characters, {self._model_id} takes at most {limit}"
            )
        body: dict[str, Any] = {"text": text, "model_id": self._model_id}
        settings = voice_settings_json(voice.elevenlabs_settings)
        if settings is not None:
            body["voice_settings"] = settings
        if takes_language_code(self._model_id):
            body["language_code"] = voice.language
        what = f"ElevenLabs speech with voice {voice.elevenlabs_voice_id}"
        url = f"{self._base_url}/v1/text-to-speech/{voice.elevenlabs_voice_id}/with-timestamps"
        response = await self._send(
            "POST", url, what=what, params={"output_format": self._output_format}, json=body
        )
        if response.status_code != 200:
            raise await self._failure(response, what, voice_call=True)
        data = self._json_object(response, what)
        cost = self._cost(response, text)
        log.info(
            "elevenlabs take made",
            voice=voice.elevenlabs_voice_id,
            model=self._model_id,
            characters=len(text),
            credits=cost.units,
            request_id=cost.request_id,
        )
        return await self._take(data, text, workdir, cost)

    async def list_voices(self) -> list[AccountVoice]:
        """Every voice of the account, page by page (``GET /v2/voices``)."""
        voices: list[AccountVoice] = []
        token: str | None = None
        seen_tokens: set[str] = set()
        for _ in range(MAX_VOICE_PAGES):
            params: dict[str, str | int] = {"page_size": VOICES_PAGE_SIZE}
            if token:
                params["next_page_token"] = token
            what = "ElevenLabs voice list"
            response = await self._send("GET", f"{self._base_url}/v2/voices", what=what, params=params)
            if response.status_code != 200:
                raise await self._failure(response, what, voice_call=False)
            data = self._json_object(response, what)
            voices.extend(_account_voice(item) for item in data.get("voices") or [] if isinstance(item, dict))
            token = _text(data.get("next_page_token"))
            if not data.get("has_more") or not token or token in seen_tokens:
                return voices
            seen_tokens.add(token)
        raise self._error("provider_unavailable", f"the voice list has more than {MAX_VOICE_PAGES} pages")

    async def _take(
        self, data: Mapping[str, Any], text: str, workdir: Path, cost: ProviderCost
    ) -> SpeechTake:
        what = "ElevenLabs audio"
        try:
            audio = base64.b64decode(str(data.get("audio_base64") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise self._error("speech_failed", f"{what}: audio_base64 is not base64", True) from None
        if not audio:
            raise self._error("speech_failed", f"{what}: the answer has no audio", True)
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        stem = f"speech-{secrets.token_hex(4)}"  # a new take never overwrites the one being listened to
        source = workdir / f"{stem}-provider.{_extension(self._output_format)}"
        wav, ogg = workdir / f"{stem}.wav", workdir / f"{stem}.ogg"
        await asyncio.to_thread(source.write_bytes, audio)
        wav_args = [
            self._ffmpeg, "-nostdin", "-y", "-v", "error", *_input_args(self._output_format),
            "-i", file_url(source), "-ac", "1", "-c:a", "pcm_s16le", file_url(wav),
        ]  # fmt: skip
        opus_args = [
            self._ffmpeg, "-nostdin", "-y", "-v", "error", "-i", file_url(wav),
            "-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "32k", "-application", "voip",
            file_url(ogg),
        ]  # fmt: skip
        try:
            await run_media_tool(wav_args, time_limit=MEDIA_TIME_LIMIT)
            duration = await probe_duration(wav, ffprobe=self._ffprobe)
            if duration < MIN_SPEECH_SECONDS:
                raise ProviderError("speech_failed", f"{what}: {duration:.3f} s of audio")
            await run_media_tool(opus_args, time_limit=MEDIA_TIME_LIMIT)
        except (MediaToolError, MediaProblem) as exc:
            raise self._error("speech_failed", f"{what}: {exc}") from exc
        finally:
            await asyncio.to_thread(source.unlink, missing_ok=True)
        words = _words(data, text, duration)
        return SpeechTake(wav=wav, ogg=ogg, duration=duration, words=words, provider=self.name, cost=cost)

    def _cost(self, response: httpx.Response, text: str) -> ProviderCost:
        header = response.headers.get("character-cost")
        try:
            credits = int(header) if header is not None else None
        except ValueError:
            credits = None
        if credits is None or credits < 0:
            credits = estimated_credits(self._model_id, len(text))
        return ProviderCost(
            provider=self.name,
            model=self._model_id,
            units=credits,
            unit="characters",
            usd=round(credits * USD_PER_CREDIT, 6),
            request_id=response.headers.get("request-id"),
        )

    async def _send(self, method: str, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
        """The first answer that is not busy (429) or an outage (5xx); after the last try, raises."""
        headers = {"xi-api-key": self._key, "Accept": "application/json"}
        for attempt in range(1, self._tries + 1):
            last = attempt == self._tries
            retry_after: float | None = None
            try:
                async with self._slots:
                    response = await self._http.request(
                        method, url, headers=headers, timeout=self._timeout, **kwargs
                    )
            except httpx.TransportError as exc:
                # A synthesis that may have reached ElevenLabs (read timeout, dropped connection) may be
                # billed: only a request that surely never left (or a read-only GET) is sent again.
                never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
                if last or not (never_sent or method == "GET"):
                    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not reach it"
                    raise self._error(
                        "provider_unavailable", f"{what}: {kind} ({type(exc).__name__}: {exc})", True
                    ) from None
                log.warning(
                    "elevenlabs call failed, retrying", call=what, attempt=attempt, error=type(exc).__name__
                )
            else:
                code = response.status_code
                if code != 429 and code < 500:
                    return response
                answer = _answer(response)
                if last:
                    reason = "provider_busy" if code == 429 else "provider_unavailable"
                    raise self._error(reason, _describe(what, answer), True)
                retry_after = _seconds(response.headers.get("retry-after"))
                log.warning(
                    "elevenlabs call turned away, retrying",
                    call=what,
                    attempt=attempt,
                    status=code,
                    word=answer.status or None,
                )
            await self._sleep(self._backoff(attempt, retry_after))
        raise AssertionError("unreachable: the last try returns or raises")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential and capped, with jitter (half to all of a step) so parallel takes spread out."""
        step = min(self._first_backoff * 2 ** (attempt - 1), self._max_backoff)
        delay = self._rng.uniform(step / 2, step)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self._max_backoff))
        return delay

    async def _failure(self, response: httpx.Response, what: str, *, voice_call: bool) -> ProviderError:
        """The ProviderError a 4xx answer means; alerts the operators when only they can fix it."""
        answer = _answer(response)
        detail = _describe(what, answer)
        word = answer.status
        if word in QUOTA_WORDS:
            await self._alert(ALERT_QUOTA, f"ElevenLabs quota exhausted: {detail}")
            return self._error("provider_quota", detail)
        if word in AUTH_WORDS or answer.code in (401, 403):
            await self._alert(ALERT_AUTH, f"ElevenLabs refused the API key: {detail}")
            return self._error("provider_auth", detail)
        if word in VOICE_WORDS or (answer.code == 404 and voice_call):
            return self._error("voice_unavailable", detail)
        if word in TOO_LONG_WORDS:
            return self._error("script_too_long", detail)
        return self._error("provider_rejected", detail)

    async def _alert(self, topic: str, text: str) -> None:
        if self._alerts is None:
            return
        try:
            await self._alerts.alert(topic, self._redact(text)[:DETAIL_LIMIT])
        except Exception as exc:  # an alert that cannot be sent must not hide the user's error
            log.warning("operator alert failed", topic=topic, error=self._redact(str(exc))[:DETAIL_LIMIT])

    def _json_object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._error("provider_unavailable", f"{what}: the answer is not a JSON object", True)
        return data

    def _redact(self, text: str) -> str:
        return text.replace(self._key, REDACTED)

    def _error(self, reason: str, detail: str, transient: bool = False) -> ProviderError:
        return ProviderError(reason, self._redact(detail)[:DETAIL_LIMIT], transient=transient)


def _answer(response: httpx.Response) -> _Answer:
    """``detail.status`` and ``detail.message`` of an error answer of any shape (dict, list, text)."""
    try:
        data = response.json()
    except ValueError:
        return _Answer(response.status_code, "", " ".join(response.text.split())[:300])
    detail = data.get("detail") if isinstance(data, dict) else data
    if isinstance(detail, dict):
        status = _text(detail.get("status")) or _text(detail.get("code")) or ""
        message = _text(detail.get("message")) or ""
        return _Answer(response.status_code, status, message)
    if isinstance(detail, list):
        parts = [_validation_message(item) for item in detail if isinstance(item, dict)]
        return _Answer(response.status_code, "", "; ".join(parts))
    return _Answer(response.status_code, "", str(detail)[:300] if detail is not None else "")


def _describe(what: str, answer: _Answer) -> str:
    word = f" {answer.status}" if answer.status else ""
    message = f": {answer.message}" if answer.message else ""
    return f"{what}: HTTP {answer.code}{word}{message}"


def _validation_message(item: Mapping[str, Any]) -> str:
    location = [str(part) for part in item.get("loc") or []]
    if location[:1] == ["body"]:
        location = location[1:]
    message = str(item.get("msg") or item.get("type") or "invalid")
    return f"{'.'.join(location)}: {message}" if location else message


def _words(data: Mapping[str, Any], text: str, duration: float) -> tuple[WordTiming, ...]:
    """Timings from ``alignment``, else ``normalized_alignment``, else an estimate from the script."""
    for name in ("alignment", "normalized_alignment"):
        alignment = data.get(name)
        if not isinstance(alignment, dict):
            continue
        words = words_from_alignment(
            _list(alignment.get("characters")),
            _list(alignment.get("character_start_times_seconds")),
            _list(alignment.get("character_end_times_seconds")),
            duration=duration,
        )
        if words:
            return words
    log.warning("elevenlabs answer has no usable alignment; estimating word timings")
    return estimate_word_timings(text, duration)


def _account_voice(item: Mapping[str, Any]) -> AccountVoice:
    labels = item.get("labels")
    return AccountVoice(
        voice_id=str(item.get("voice_id") or ""),
        name=str(item.get("name") or ""),
        category=str(item.get("category") or ""),
        labels={str(k): str(v) for k, v in labels.items() if v} if isinstance(labels, dict) else {},
    )


def _extension(output_format: str) -> str:
    return output_format.split("_", 1)[0] if output_format.startswith(("mp3", "wav", "opus")) else "raw"


def _input_args(output_format: str) -> Sequence[str]:
    """How ffmpeg must read ``output_format``: the headerless ones (pcm, μ-law, A-law) need telling."""
    rate = _SAMPLE_RATE.search(output_format)
    sample_rate = rate.group(1) if rate else "16000"
    if output_format.startswith("pcm_"):
        return ["-f", "s16le", "-ar", sample_rate, "-ac", "1"]
    if output_format.startswith("ulaw_"):
        return ["-f", "mulaw", "-ar", sample_rate, "-ac", "1"]
    if output_format.startswith("alaw_"):
        return ["-f", "alaw", "-ar", sample_rate, "-ac", "1"]
    return []


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None
