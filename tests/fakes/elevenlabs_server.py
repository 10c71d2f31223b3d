"""A fake ElevenLabs on loopback: text-to-speech with timestamps making real audio, and the voice lists.

It speaks the HTTP of docs/external-apis.md §3: ``POST /v1/text-to-speech/{voice_id}/with-timestamps``
answers ``{audio_base64, alignment, normalized_alignment}`` where the audio is real speech (espeak-ng, then
ffmpeg to the requested ``output_format``) and the alignment spreads the characters over its measured
length; the headers carry ``character-cost``, ``request-id`` and ``history-item-id``. It checks the
``xi-api-key`` header, the voice, the model's character limit, ``language_code`` (refused by models that do
not take it), and the ``voice_settings`` ranges. ``GET /v1/voices`` and ``GET /v2/voices`` (paged) list
its voices: by default the ``elevenlabs_voice_id`` values of catalog/voices.yaml and two more.

A script of faults makes the next calls answer 429 (``system_busy``, ``too_many_concurrent_requests``),
5xx, ``quota_exceeded``, ``invalid_api_key``, ``voice_not_found``, ``max_character_limit_exceeded``, a 422
validation error, or hang. Stats count paid syntheses and their characters, so a test can prove that a
reused take was not paid for, and the most requests it ever served at once.

In a test::

    async with elevenlabs_server() as fake:
        speech = ElevenLabsSpeech(http=http, api_key=fake.key, base_url=fake.url)

As its own process::

    python -m tests.fakes.elevenlabs_server --port 8791

Control: ``GET /_fake/stats``; ``POST /_fake/script`` with ``{"faults": [{"fault": "system_busy", "times":
2}, {"fault": "server_error", "status": 503}, {"fault": "hang", "seconds": 30}], "latency": 0.5}``;
``POST /_fake/reset``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import math
import os
import re
import secrets
import shutil
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from aiohttp import web

from app.services.media_probe import MediaProblem, MediaToolError, file_url, probe_duration, run_media_tool
from app.services.speech.local import espeak_input

ROOT = Path(__file__).resolve().parents[2]
CATALOG_VOICES = ROOT / "catalog" / "voices.yaml"
DEFAULT_KEY = "fake-elevenlabs-key-7c2d94b1e0"
DEFAULT_HANG = 30.0
MEDIA_TIME_LIMIT = 60.0
# Character limits per request (docs/external-apis.md §3).
MODEL_LIMITS: Mapping[str, int] = {
    "eleven_flash_v2_5": 40_000,
    "eleven_turbo_v2_5": 40_000,
    "eleven_multilingual_v2": 10_000,
    "eleven_v3": 5_000,
    "eleven_flash_v2": 30_000,
    "eleven_turbo_v2": 30_000,
    "eleven_monolingual_v1": 10_000,
    "eleven_multilingual_v1": 10_000,
}
LANGUAGE_CODE_MODELS = frozenset({"eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_v3"})
SETTING_RANGES: Mapping[str, tuple[float, float]] = {
    "stability": (0.0, 1.0),
    "similarity_boost": (0.0, 1.0),
    "style": (0.0, 1.0),
    "speed": (0.7, 1.2),
}
OUTPUT_FORMAT = re.compile(
    r"^(?:(?P<mp3>mp3)_(?P<mp3_rate>22050|24000|44100)_(?P<mp3_kbps>32|64|96|128|192)"
    r"|(?P<opus>opus)_48000_(?P<opus_kbps>32|64|96|128|192)"
    r"|(?P<pcm>pcm|wav)_(?P<pcm_rate>8000|16000|22050|24000|44100|48000)"
    r"|(?P<law>ulaw|alaw)_8000)$"
)
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

FaultKind = Literal[
    "system_busy",
    "too_many_concurrent_requests",
    "server_error",
    "quota_exceeded",
    "invalid_api_key",
    "voice_not_found",
    "max_character_limit_exceeded",
    "validation",
    "hang",
]
# Status code, detail.status and message of each scripted fault (the wording is ElevenLabs' style).
FAULTS: Mapping[str, tuple[int, str | None, str]] = {
    "system_busy": (429, "system_busy", "We are experiencing heavy traffic, please try again later."),
    "too_many_concurrent_requests": (
        429,
        "too_many_concurrent_requests",
        "Too many concurrent requests for your subscription.",
    ),
    "server_error": (500, None, "Internal Server Error"),
    "quota_exceeded": (
        401,
        "quota_exceeded",
        "This request exceeds your quota of 10000. You have 3 credits remaining.",
    ),
    "invalid_api_key": (401, "invalid_api_key", "Invalid API key"),
    "voice_not_found": (404, "voice_not_found", "A voice with the voice_id was not found."),
    "max_character_limit_exceeded": (
        400,
        "max_character_limit_exceeded",
        "The text exceeds the maximum character limit of this model.",
    ),
    "validation": (422, None, "Input should be a valid string"),
    "hang": (0, None, ""),
}
FaultOn = Literal["tts", "voices"]


@dataclass(frozen=True, slots=True)
class FakeVoice:
    voice_id: str
    name: str
    category: str = "premade"
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "voice_id": self.voice_id,
            "name": self.name,
            "category": self.category,
            "labels": dict(self.labels),
            "description": None,
            "preview_url": f"https://storage.example/voices/{self.voice_id}.mp3",
        }


EXTRA_VOICES = (
    FakeVoice("XB0fDUnXU5powFXDhCwa", "Charlotte", labels={"gender": "female", "age": "young"}),
    FakeVoice("pqHfZKP75CvOlQylNhV4", "Bill", labels={"gender": "male", "age": "old", "accent": "american"}),
)


def catalog_voices(path: Path = CATALOG_VOICES) -> list[FakeVoice]:
    """The voices catalog/voices.yaml names, as an account holding them would list them."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    voices = []
    for voice in data["voices"]:
        labels = {"gender": str(voice.get("gender", "")), "age": str(voice.get("age_group", ""))}
        voices.append(FakeVoice(str(voice["elevenlabs_voice_id"]), str(voice["name"]["en"]), labels=labels))
    return voices


def default_voices() -> list[FakeVoice]:
    return [*catalog_voices(), *EXTRA_VOICES]


@dataclass(slots=True)
class Fault:
    """What the next ``times`` calls at ``on`` do instead of their normal answer."""

    fault: FaultKind
    times: int = 1
    on: FaultOn = "tts"
    status: int | None = None  # another status than the fault's usual one (e.g. 503 for server_error)
    seconds: float = DEFAULT_HANG  # for "hang": no answer this long, then the normal one
    message: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        kind = data.get("fault")
        if kind not in FAULTS:
            raise ValueError(f"'fault' must be one of {sorted(FAULTS)}, not {kind!r}")
        on = data.get("on", "tts")
        if on not in ("tts", "voices"):
            raise ValueError(f"'on' must be tts or voices, not {on!r}")
        return cls(
            fault=kind,
            times=int(data.get("times", 1)),
            on=on,
            status=int(data["status"]) if data.get("status") is not None else None,
            seconds=float(data.get("seconds", DEFAULT_HANG)),
            message=data.get("message"),
        )


@dataclass
class FakeElevenLabs:
    """The fake's state and handlers; ``url`` is set once it listens."""

    key: str = DEFAULT_KEY
    voices: list[FakeVoice] = field(default_factory=default_voices)
    latency: float = 0.0  # extra seconds each synthesis takes (to make concurrency visible)
    alignment: Literal["both", "normalized", "none"] = "both"  # which alignments the answers carry
    url: str = ""
    faults: list[Fault] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)  # every authorised tts request's input

    def __post_init__(self) -> None:
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._in_flight = 0
        self._workdir = Path(tempfile.mkdtemp(prefix="fake-elevenlabs-"))

    # -- control, in process ---------------------------------------------------------------------------

    def script(self, faults: Sequence[Fault | Mapping[str, Any]]) -> None:
        """Queue faults, each a :class:`Fault` or its JSON (``{"fault": "system_busy", "times": 2}``)."""
        self.faults.extend(f if isinstance(f, Fault) else Fault.from_json(f) for f in faults)

    def reset(self) -> None:
        self.faults.clear()
        self.counters.clear()
        self.requests.clear()

    @property
    def stats(self) -> dict[str, Any]:
        """What the fake saw: paid syntheses and their characters, all calls, the peak concurrency."""
        counters = self.counters
        return {
            "synthesis_calls": counters.get("synthesis_calls", 0),  # takes made (paid)
            "characters": counters.get("characters", 0),  # credits billed for them
            "tts_requests": counters.get("tts_requests", 0),  # every request, refused ones too
            "voices_calls": counters.get("voices_calls", 0),
            "unauthorised": counters.get("unauthorised", 0),
            "max_concurrent": counters.get("max_concurrent", 0),
            "requests": list(self.requests),
            "pending_faults": [asdict(fault) for fault in self.faults],
        }

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        add = app.router.add_route
        add("GET", "/_fake/stats", self._handle_stats)
        add("POST", "/_fake/script", self._handle_script)
        add("POST", "/_fake/reset", self._handle_reset)
        add("POST", "/v1/text-to-speech/{voice_id}/with-timestamps", self._handle_tts)
        add("GET", "/v1/voices", self._handle_voices_v1)
        add("GET", "/v2/voices", self._handle_voices_v2)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # port 0: ask the OS
        self.url = f"http://{host}:{bound}"

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
        shutil.rmtree(self._workdir, ignore_errors=True)

    # -- text to speech -------------------------------------------------------------------------------

    async def _handle_tts(self, request: web.Request) -> web.StreamResponse:
        self._count("tts_requests")
        if not self._authorised(request):
            return _detail(401, "invalid_api_key", "Invalid API key")
        with self._in_flight_call():
            try:
                body = await request.json()
            except ValueError:
                body = None
            voice_id = request.match_info["voice_id"]
            output_format = request.query.get("output_format", "mp3_44100_128")
            self.requests.append({"voice_id": voice_id, "output_format": output_format, "body": body})
            if answer := await self._scripted("tts"):
                return answer
            if problem := self._tts_problem(voice_id, output_format, body):
                return problem
            assert isinstance(body, dict)
            if self.latency:
                await asyncio.sleep(self.latency)
            return await self._speak(body, output_format)

    def _tts_problem(  # noqa: PLR0911  (one early answer per rule, in the order ElevenLabs checks)
        self, voice_id: str, output_format: str, body: Any
    ) -> web.Response | None:
        """The error answer ElevenLabs would give this request, or None when it is fine."""
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"].strip():
            return _validation(["body", "text"], "Field required: a non-empty string")
        if not any(voice.voice_id == voice_id for voice in self.voices):
            return _detail(404, "voice_not_found", f"A voice with the voice_id {voice_id} was not found.")
        model = body.get("model_id", "eleven_multilingual_v2")
        if model not in MODEL_LIMITS:
            return _detail(400, "model_not_found", f"A model with model ID {model} does not exist.")
        if body.get("language_code") is not None and model not in LANGUAGE_CODE_MODELS:
            # The fake's wording; what matters is that such a model refuses the field.
            return _detail(
                400,
                "unsupported_language_code",
                f"Model '{model}' does not support the language_code parameter.",
            )
        limit = MODEL_LIMITS[model]
        if len(body["text"]) > limit:
            return _detail(
                400,
                "max_character_limit_exceeded",
                f"Text is {len(body['text'])} characters; {model} allows at most {limit}.",
            )
        if not OUTPUT_FORMAT.match(output_format):
            return _validation(["query", "output_format"], f"Unsupported output format {output_format!r}")
        return _settings_problem(body.get("voice_settings"))

    async def _speak(self, body: Mapping[str, Any], output_format: str) -> web.Response:
        text: str = body["text"]
        model = body.get("model_id", "eleven_multilingual_v2")
        work = self._workdir / uuid.uuid4().hex
        work.mkdir()
        try:
            audio, duration = await self._audio(text, body.get("language_code"), output_format, work)
        except (MediaToolError, MediaProblem) as exc:
            return _detail(500, "internal_error", f"fake synthesis failed: {exc}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        cost = math.ceil(len(text) / 2) if ("flash" in model or "turbo" in model) else len(text)
        self._count("synthesis_calls")
        self._count("characters", cost)
        answer: dict[str, Any] = {
            "audio_base64": base64.b64encode(audio).decode("ascii"),
            "alignment": None,
            "normalized_alignment": None,
        }
        if self.alignment == "both":
            answer["alignment"] = _spread(text, duration)
        if self.alignment in ("both", "normalized"):
            answer["normalized_alignment"] = _spread(" " + " ".join(text.split()) + " ", duration)
        headers = {
            "character-cost": str(cost),
            "request-id": uuid.uuid4().hex,
            "history-item-id": secrets.token_hex(10),
        }
        return web.json_response(answer, headers=headers)

    async def _audio(self, text: str, language: Any, output_format: str, work: Path) -> tuple[bytes, float]:
        """Real speech of ``text`` in ``output_format`` and its length in seconds."""
        script, wav, out = work / "text.txt", work / "speech.wav", work / "out.bin"
        script.write_text(espeak_input(text), encoding="utf-8")
        espeak_voice = "ru" if language == "ru" or (language is None and _CYRILLIC.search(text)) else "en-us"
        await run_media_tool(
            ["espeak-ng", "-b", "1", "-v", espeak_voice, "-w", str(wav), "-f", str(script)],
            time_limit=MEDIA_TIME_LIMIT,
        )
        duration = await probe_duration(wav)
        await run_media_tool(
            ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", file_url(wav), *_encode_args(output_format),
             file_url(out)],
            time_limit=MEDIA_TIME_LIMIT,
        )  # fmt: skip
        return out.read_bytes(), duration

    # -- voices ---------------------------------------------------------------------------------------

    async def _handle_voices_v1(self, request: web.Request) -> web.StreamResponse:
        self._count("voices_calls")
        if not self._authorised(request):
            return _detail(401, "invalid_api_key", "Invalid API key")
        if answer := await self._scripted("voices"):
            return answer
        return web.json_response({"voices": [voice.to_json() for voice in self.voices]})

    async def _handle_voices_v2(self, request: web.Request) -> web.StreamResponse:
        self._count("voices_calls")
        if not self._authorised(request):
            return _detail(401, "invalid_api_key", "Invalid API key")
        if answer := await self._scripted("voices"):
            return answer
        try:
            size = int(request.query.get("page_size", DEFAULT_PAGE_SIZE))
            offset = int(request.query.get("next_page_token", "page-0").removeprefix("page-"))
        except ValueError:
            return _validation(["query"], "page_size and next_page_token must be what the API gave")
        if not 1 <= size <= MAX_PAGE_SIZE or offset < 0:
            return _validation(["query", "page_size"], f"page_size must be 1–{MAX_PAGE_SIZE}")
        page = self.voices[offset : offset + size]
        more = offset + size < len(self.voices)
        return web.json_response(
            {
                "voices": [voice.to_json() for voice in page],
                "has_more": more,
                "total_count": len(self.voices),
                "next_page_token": f"page-{offset + size}" if more else None,
            }
        )

    # -- control over HTTP ----------------------------------------------------------------------------

    async def _handle_stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.stats)

    async def _handle_script(self, request: web.Request) -> web.StreamResponse:
        try:
            data = await request.json()
            faults = [Fault.from_json(item) for item in data.get("faults", [])]
            latency = float(data.get("latency", self.latency))
        except (ValueError, TypeError, AttributeError) as exc:
            return web.json_response({"detail": f"bad script: {exc}"}, status=400)
        self.faults.extend(faults)
        self.latency = latency
        return web.json_response(self.stats)

    async def _handle_reset(self, request: web.Request) -> web.StreamResponse:
        self.reset()
        return web.json_response(self.stats)

    # -- helpers --------------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        if request.headers.get("xi-api-key") == self.key:
            return True
        self._count("unauthorised")
        return False

    @contextlib.contextmanager
    def _in_flight_call(self) -> Iterator[None]:
        self._in_flight += 1
        self.counters["max_concurrent"] = max(self.counters.get("max_concurrent", 0), self._in_flight)
        try:
            yield
        finally:
            self._in_flight -= 1

    def _take(self, on: FaultOn) -> Fault | None:
        for fault in self.faults:
            if fault.on == on:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _scripted(self, on: FaultOn) -> web.Response | None:
        fault = self._take(on)
        if fault is None:
            return None
        if fault.fault == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.seconds)
            return None
        status, word, message = FAULTS[fault.fault]
        status = fault.status or status
        message = fault.message or message
        if fault.fault == "validation":
            return _validation(["body", "text"], message, status)
        if word is None:
            return web.json_response({"detail": message}, status=status)
        return _detail(status, word, message)

    def _count(self, name: str, by: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + by


def _detail(status: int, word: str, message: str) -> web.Response:
    return web.json_response({"detail": {"status": word, "message": message}}, status=status)


def _validation(loc: list[str], message: str, status: int = 422) -> web.Response:
    return web.json_response({"detail": [{"loc": loc, "msg": message, "type": "value_error"}]}, status=status)


def _settings_problem(settings: Any) -> web.Response | None:
    if settings is None:
        return None
    if not isinstance(settings, dict):
        return _validation(["body", "voice_settings"], "Input should be a valid dictionary")
    for name, value in settings.items():
        if name == "use_speaker_boost":
            if not isinstance(value, bool):
                return _validation(["body", "voice_settings", name], "Input should be a valid boolean")
            continue
        bounds = SETTING_RANGES.get(name)
        if bounds is None:
            return _validation(["body", "voice_settings", name], "Extra inputs are not permitted")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not bounds[0] <= value <= bounds[1]
        ):
            return _validation(
                ["body", "voice_settings", name], f"Input should be between {bounds[0]} and {bounds[1]}"
            )
    return None


def _spread(text: str, duration: float) -> dict[str, list[Any]]:
    """Every character of ``text`` given an equal share of ``duration``, in order."""
    step = duration / max(1, len(text))
    return {
        "characters": list(text),
        "character_start_times_seconds": [round(i * step, 3) for i in range(len(text))],
        "character_end_times_seconds": [round((i + 1) * step, 3) for i in range(len(text))],
    }


def _encode_args(output_format: str) -> list[str]:
    match = OUTPUT_FORMAT.match(output_format)
    assert match is not None
    if match["mp3"]:
        return ["-ac", "1", "-ar", match["mp3_rate"], "-c:a", "libmp3lame", "-b:a", f"{match['mp3_kbps']}k",
                "-f", "mp3"]  # fmt: skip
    if match["opus"]:
        return ["-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", f"{match['opus_kbps']}k", "-f", "ogg"]
    if match["pcm"] == "pcm":
        return ["-ac", "1", "-ar", match["pcm_rate"], "-c:a", "pcm_s16le", "-f", "s16le"]
    if match["pcm"] == "wav":
        return ["-ac", "1", "-ar", match["pcm_rate"], "-c:a", "pcm_s16le", "-f", "wav"]
    law = match["law"]
    return ["-ac", "1", "-ar", "8000", "-c:a", f"pcm_{'mulaw' if law == 'ulaw' else 'alaw'}", "-f",
            "mulaw" if law == "ulaw" else "alaw"]  # fmt: skip


@asynccontextmanager
async def elevenlabs_server(
    *,
    key: str = DEFAULT_KEY,
    voices: Sequence[FakeVoice] | None = None,
    latency: float = 0.0,
    port: int = 0,
) -> AsyncIterator[FakeElevenLabs]:
    """A running fake on 127.0.0.1; point the adapter's ``base_url`` at ``fake.url``."""
    fake = FakeElevenLabs(
        key=key, voices=list(voices) if voices is not None else default_voices(), latency=latency
    )
    await fake.start(port=port)
    try:
        yield fake
    finally:
        await fake.close()


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeElevenLabs(key=args.key, latency=args.latency)
    await fake.start(args.host, args.port)
    print(f"fake ElevenLabs listening on {fake.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.elevenlabs_server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument(
        "--key",
        default=os.environ.get("FAKE_ELEVENLABS_KEY", DEFAULT_KEY),
        help="the xi-api-key to accept",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="extra seconds each synthesis takes")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
