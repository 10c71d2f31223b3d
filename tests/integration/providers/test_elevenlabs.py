"""ElevenLabs speech against the fake ElevenLabs: real audio with captions that follow the script, the
request ElevenLabs expects, retries that ride out a busy or failing service, errors a user and an operator
understand, limits checked before paying, and a key that never leaks."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli.check_catalog import locales_of
from app.services.catalog import Catalog
from app.services.providers import ElevenLabsVoiceSettings, ProviderError, VoiceParams
from app.services.speech.elevenlabs import USD_PER_CREDIT, ElevenLabsSpeech
from tests.conftest import ROOT
from tests.fakes.elevenlabs_server import FakeElevenLabs, FakeVoice, elevenlabs_server
from tests.integration.providers.conftest import container_duration, streams
from tests.integration.providers.fal_support import all_logs
from tests.support.servers import free_port

RU = VoiceParams("ru_alisa", "ru", "ru+f3", 65, 165, "EXAVITQu4vr4xnSDxMaL")
EN = VoiceParams("en_adam", "en", "en-us+m4", 35, 155, "pNInz6obpgDQGcFmaJgB")
SCRIPT = "Привет! Это наш новый крем — попробуйте его сегодня."


class RecordingAlerts:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def alert(self, topic: str, text: str) -> None:
        self.sent.append((topic, text))


class RecordingSleep:
    """Pauses that return at once, remembered so a test can check the backoff."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def fake() -> AsyncIterator[FakeElevenLabs]:
    async with elevenlabs_server() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def alerts() -> RecordingAlerts:
    return RecordingAlerts()


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


def speech_for(
    http: httpx.AsyncClient,
    fake: FakeElevenLabs,
    *,
    alerts: RecordingAlerts | None = None,
    sleep: RecordingSleep | None = None,
    **options: Any,
) -> ElevenLabsSpeech:
    """The adapter pointed at the fake, with the production retry policy but pauses that do not wait."""
    options.setdefault("api_key", fake.key)
    return ElevenLabsSpeech(
        http=http, base_url=fake.url, alerts=alerts, sleep=sleep or RecordingSleep(), **options
    )


def last_body(fake: FakeElevenLabs) -> dict[str, Any]:
    body = fake.stats["requests"][-1]["body"]
    assert isinstance(body, dict)
    return body


async def test_a_take_is_real_speech_with_the_script_words_timed_across_it_and_a_cost(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    take = await speech_for(http, fake).synthesize(SCRIPT, RU, workdir=tmp_path)

    assert take.provider == "elevenlabs"
    assert [w.word for w in take.words] == SCRIPT.split()
    assert 1.5 < take.duration < 15
    assert take.words[0].start < 0.5
    assert take.words[-1].end == pytest.approx(take.duration, abs=0.1)
    assert all(a.end <= b.start for a, b in zip(take.words, take.words[1:], strict=False))
    assert container_duration(take.wav) == pytest.approx(take.duration, abs=0.01)
    assert container_duration(take.ogg) == pytest.approx(take.duration, abs=0.1)
    (opus,) = streams(take.ogg, "audio")
    assert (opus["codec_name"], opus["sample_rate"], opus["channels"]) == ("opus", "48000", 1)
    assert streams(take.wav, "audio")[0]["codec_name"] == "pcm_s16le"
    left = await asyncio.to_thread(os.listdir, tmp_path)
    assert sorted(Path(name).suffix for name in left) == [".ogg", ".wav"]  # the provider's mp3 is gone
    assert take.cost is not None  # what the ledger records
    assert (take.cost.provider, take.cost.model, take.cost.unit) == (
        "elevenlabs",
        "eleven_multilingual_v2",
        "characters",
    )
    assert take.cost.units == len(SCRIPT) == fake.stats["characters"]
    assert take.cost.usd == pytest.approx(len(SCRIPT) * USD_PER_CREDIT)
    assert take.cost.request_id and len(take.cost.request_id) == 32


async def test_flash_models_cost_half_a_credit_per_character(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    speech = speech_for(http, fake, model_id="eleven_flash_v2_5")

    take = await speech.synthesize("Hello there, friends!", EN, workdir=tmp_path)

    assert take.cost is not None and take.cost.units == 11 == fake.stats["characters"]


@pytest.mark.parametrize("output_format", ["mp3_22050_32", "opus_48000_64", "pcm_16000", "wav_44100"])
async def test_every_output_format_becomes_a_wav_and_a_voice_message(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path, output_format: str
) -> None:
    speech = speech_for(http, fake, output_format=output_format)

    take = await speech.synthesize("Try it today.", EN, workdir=tmp_path)

    assert fake.stats["requests"][-1]["output_format"] == output_format
    assert 0.5 < take.duration < 5
    assert container_duration(take.ogg) == pytest.approx(take.duration, abs=0.1)
    assert [w.word for w in take.words] == ["Try", "it", "today."]


@pytest.mark.parametrize(
    ("model", "sent"),
    [
        ("eleven_multilingual_v2", False),
        ("eleven_flash_v2_5", True),
        ("eleven_v3", True),
    ],
)
async def test_the_language_goes_only_to_models_that_take_it(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path, model: str, sent: bool
) -> None:
    speech = speech_for(http, fake, model_id=model)

    await speech.synthesize("Привет!", RU, workdir=tmp_path)  # the fake refuses language_code elsewhere

    body = last_body(fake)
    assert body["model_id"] == model
    assert body.get("language_code") == ("ru" if sent else None)
    assert ("language_code" in body) is sent


async def test_catalog_voice_settings_reach_elevenlabs(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    locales, default = locales_of(ROOT / "flows.yaml")
    catalog = Catalog.load(ROOT / "catalog", locales, default)
    tuned = next(v for v in catalog.voices() if v.elevenlabs_settings is not None)
    plain = next(v for v in catalog.voices() if v.elevenlabs_settings is None)
    speech = speech_for(http, fake)

    await speech.synthesize("Привет!", tuned.params("ru"), workdir=tmp_path)
    tuned_body = last_body(fake)
    await speech.synthesize("Привет!", plain.params("ru"), workdir=tmp_path)
    plain_body = last_body(fake)

    assert tuned.elevenlabs_settings is not None
    expected = tuned.elevenlabs_settings.model_dump(exclude_none=True)
    assert tuned_body["voice_settings"] == expected and expected
    assert "voice_settings" not in plain_body


async def test_only_the_settings_a_voice_sets_are_sent(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    voice = VoiceParams(
        "v", "en", "en-us", 50, 160, EN.elevenlabs_voice_id, ElevenLabsVoiceSettings(stability=0.3, speed=1.1)
    )

    await speech_for(http, fake).synthesize("Hello!", voice, workdir=tmp_path)

    assert last_body(fake)["voice_settings"] == {"stability": 0.3, "speed": 1.1}


@pytest.mark.parametrize(
    "fault",
    [
        {"fault": "system_busy"},
        {"fault": "too_many_concurrent_requests"},
        {"fault": "server_error", "status": 500},
        {"fault": "server_error", "status": 503},
    ],
)
async def test_a_busy_or_failing_service_is_retried_with_growing_pauses_and_paid_once(
    http: httpx.AsyncClient,
    fake: FakeElevenLabs,
    sleeps: RecordingSleep,
    tmp_path: Path,
    fault: dict[str, Any],
) -> None:
    fake.script([{**fault, "times": 2}])
    speech = speech_for(http, fake, sleep=sleeps, first_backoff=0.5, max_backoff=8.0)

    take = await speech.synthesize("Hello!", EN, workdir=tmp_path)

    assert [w.word for w in take.words] == ["Hello!"]
    assert (fake.stats["tts_requests"], fake.stats["synthesis_calls"]) == (3, 1)
    first, second = sleeps.delays
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0  # exponential, jittered within each step


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"fault": "system_busy"}, "provider_busy"),
        ({"fault": "too_many_concurrent_requests"}, "provider_busy"),
        ({"fault": "server_error", "status": 502}, "provider_unavailable"),
    ],
)
async def test_still_turned_away_after_the_last_try_is_a_transient_failure(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path, fault: dict[str, Any], reason: str
) -> None:
    sleeps = RecordingSleep()
    fake.script([{**fault, "times": 10}])
    speech = speech_for(http, fake, sleep=sleeps, tries=4, first_backoff=1.0, max_backoff=2.0)

    with pytest.raises(ProviderError) as caught:
        await speech.synthesize("Hello!", EN, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == (reason, True)
    assert "HTTP" in caught.value.detail
    assert (fake.stats["tts_requests"], fake.stats["synthesis_calls"]) == (4, 0)
    assert len(sleeps.delays) == 3 and max(sleeps.delays) <= 2.0  # capped at max_backoff


async def test_a_synthesis_that_timed_out_is_not_sent_again_it_may_have_been_billed(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    fake.script([{"fault": "hang", "times": 2, "seconds": 5}])
    speech = speech_for(http, fake, tries=3, timeout=0.3)

    with pytest.raises(ProviderError) as caught:
        await speech.synthesize("Hello!", EN, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("provider_unavailable", True)
    assert "timed out" in caught.value.detail
    assert fake.stats["tts_requests"] == 1, "ElevenLabs may have made (and billed) the take: asked once"


async def test_an_unreachable_service_is_unavailable(http: httpx.AsyncClient, tmp_path: Path) -> None:
    speech = ElevenLabsSpeech(
        http=http,
        api_key="some-key-123",
        base_url=f"http://127.0.0.1:{free_port()}",
        tries=2,
        sleep=RecordingSleep(),
    )

    with pytest.raises(ProviderError) as caught:
        await speech.synthesize("Hello!", EN, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("provider_unavailable", True)


async def test_an_exhausted_quota_fails_permanently_and_tells_the_operators(
    http: httpx.AsyncClient, fake: FakeElevenLabs, alerts: RecordingAlerts, tmp_path: Path
) -> None:
    fake.script([{"fault": "quota_exceeded"}])

    with pytest.raises(ProviderError) as caught:
        await speech_for(http, fake, alerts=alerts).synthesize("Hello!", EN, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("provider_quota", False)
    assert fake.stats["tts_requests"] == 1  # not retried: waiting will not refill the quota
    ((topic, text),) = alerts.sent
    assert topic == "elevenlabs:quota"
    assert "quota" in text and fake.key not in text


async def test_a_wrong_key_fails_permanently_tells_the_operators_and_is_never_shown(
    http: httpx.AsyncClient, fake: FakeElevenLabs, alerts: RecordingAlerts, tmp_path: Path
) -> None:
    wrong_key = "sk_wrong_5d6e7f8a9b0c1d2e"
    speech = speech_for(http, fake, alerts=alerts, api_key=wrong_key)

    with all_logs() as logs, pytest.raises(ProviderError) as caught:
        await speech.synthesize("Hello!", EN, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("provider_auth", False)
    ((topic, text),) = alerts.sent
    assert topic == "elevenlabs:auth"
    for shown in (str(caught.value), caught.value.detail, text, repr(speech), logs.getvalue()):
        assert wrong_key not in shown


async def test_a_key_echoed_back_by_the_service_is_redacted_everywhere(
    http: httpx.AsyncClient, fake: FakeElevenLabs, alerts: RecordingAlerts, tmp_path: Path
) -> None:
    echo = f"key {fake.key} was revoked"
    fake.script([
        {"fault": "system_busy", "message": echo},
        {"fault": "invalid_api_key", "message": echo},
    ])  # fmt: skip
    speech = speech_for(http, fake, alerts=alerts)

    with all_logs() as logs, pytest.raises(ProviderError) as caught:
        await speech.synthesize("Hello!", EN, workdir=tmp_path)

    assert caught.value.reason == "provider_auth"
    assert "<redacted>" in caught.value.detail
    for shown in (str(caught.value), alerts.sent[0][1], logs.getvalue()):
        assert fake.key not in shown


async def test_a_voice_missing_from_the_account_is_unavailable(
    http: httpx.AsyncClient, fake: FakeElevenLabs, alerts: RecordingAlerts, tmp_path: Path
) -> None:
    gone = VoiceParams("gone", "en", "en-us", 50, 160, "AAAAAAAAAAAAAAAAAAAA")
    speech = speech_for(http, fake, alerts=alerts)

    with pytest.raises(ProviderError) as caught:
        await speech.synthesize("Hello!", gone, workdir=tmp_path)
    fake.script([{"fault": "voice_not_found", "status": 400}])
    with pytest.raises(ProviderError) as scripted:
        await speech.synthesize("Hello!", EN, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("voice_unavailable", False)
    assert "AAAAAAAAAAAAAAAAAAAA" in caught.value.detail
    assert scripted.value.reason == "voice_unavailable"
    assert alerts.sent == []


async def test_a_validation_error_is_a_permanent_rejection_saying_what_is_wrong(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    fake.script([{"fault": "validation", "message": "Input should be a valid string"}])

    with pytest.raises(ProviderError) as caught:
        await speech_for(http, fake).synthesize("Hello!", EN, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("provider_rejected", False)
    assert "text: Input should be a valid string" in caught.value.detail
    assert fake.stats["tts_requests"] == 1


async def test_settings_elevenlabs_refuses_are_a_rejection(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    voice = VoiceParams(
        "v", "en", "en-us", 50, 160, EN.elevenlabs_voice_id, ElevenLabsVoiceSettings(speed=3.0)
    )

    with pytest.raises(ProviderError) as caught:
        await speech_for(http, fake).synthesize("Hello!", voice, workdir=tmp_path)

    assert caught.value.reason == "provider_rejected"
    assert "voice_settings.speed" in caught.value.detail


@pytest.mark.parametrize(
    ("model", "limit"),
    [
        ("eleven_multilingual_v2", 10_000),
        ("eleven_flash_v2_5", 40_000),
        ("eleven_turbo_v2_5", 40_000),
        ("eleven_v3", 5_000),
        ("eleven_future_v9", 5_000),
    ],
)
async def test_a_script_over_the_model_limit_is_refused_before_paying(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path, model: str, limit: int
) -> None:
    speech = speech_for(http, fake, model_id=model)

    with pytest.raises(ProviderError) as caught:
        await speech.synthesize("a" * (limit + 1), EN, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("script_too_long", False)
    assert str(limit) in caught.value.detail
    assert fake.stats["tts_requests"] == 0


async def test_the_service_saying_the_script_is_too_long_is_the_same_failure(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    fake.script([{"fault": "max_character_limit_exceeded"}])

    with pytest.raises(ProviderError) as caught:
        await speech_for(http, fake).synthesize("Hello!", EN, workdir=tmp_path)

    assert caught.value.reason == "script_too_long"


@pytest.mark.parametrize("text", ["", "   \n\t "])
async def test_a_blank_script_is_refused_without_a_call(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path, text: str
) -> None:
    with pytest.raises(ValueError, match="blank"):
        await speech_for(http, fake).synthesize(text, EN, workdir=tmp_path)

    assert fake.stats["tts_requests"] == 0


async def test_no_more_takes_run_at_once_than_the_plan_allows(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with elevenlabs_server(latency=0.3) as fake:
        speech = speech_for(http, fake, concurrency=2)

        takes = await asyncio.gather(
            *(speech.synthesize(f"Take number {n}.", EN, workdir=tmp_path / str(n)) for n in range(5))
        )

        assert fake.stats["max_concurrent"] == 2
    assert [t.words[-1].word for t in takes] == [f"{n}." for n in range(5)]


@pytest.mark.parametrize("alignment", ["normalized", "none"])
async def test_captions_still_follow_the_script_without_the_exact_alignment(
    http: httpx.AsyncClient, fake: FakeElevenLabs, tmp_path: Path, alignment: Any
) -> None:
    fake.alignment = alignment

    take = await speech_for(http, fake).synthesize(SCRIPT, RU, workdir=tmp_path)

    assert [w.word for w in take.words] == SCRIPT.split()
    assert take.words[-1].end == pytest.approx(take.duration, abs=0.1)


async def test_every_voice_of_the_account_is_listed_across_pages(http: httpx.AsyncClient) -> None:
    voices = [FakeVoice(f"voice{n:015d}", f"Voice {n}", labels={"gender": "female"}) for n in range(230)]
    async with elevenlabs_server(voices=voices) as fake:
        listed = await speech_for(http, fake).list_voices()

        assert fake.stats["voices_calls"] == 3  # 100 + 100 + 30
    assert [v.voice_id for v in listed] == [v.voice_id for v in voices]
    assert (listed[7].name, listed[7].category, dict(listed[7].labels)) == (
        "Voice 7",
        "premade",
        {"gender": "female"},
    )


async def test_the_fake_runs_as_a_process_under_control(http: httpx.AsyncClient, tmp_path: Path) -> None:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "tests.fakes.elevenlabs_server",
        "--port",
        str(port),
        "--key",
        "proc-key-123456",
    ]
    proc = await asyncio.create_subprocess_exec(*args, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        url = f"http://127.0.0.1:{port}"
        assert line.decode().strip() == f"fake ElevenLabs listening on {url}"
        await http.post(f"{url}/_fake/script", json={"faults": [{"fault": "system_busy"}]})
        speech = ElevenLabsSpeech(http=http, api_key="proc-key-123456", base_url=url, sleep=RecordingSleep())

        await speech.synthesize("Hello!", EN, workdir=tmp_path)
        stats = (await http.get(f"{url}/_fake/stats")).json()
        reset = (await http.post(f"{url}/_fake/reset")).json()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)

    assert (stats["tts_requests"], stats["synthesis_calls"], stats["characters"]) == (2, 1, 6)
    assert reset["tts_requests"] == 0
