"""Reused speech takes: the same script in the same voice is paid for once and served from storage after;
anything that changes the audio is a new paid take; a damaged stored take is made again, never served."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.services.providers import ElevenLabsVoiceSettings, StoredObject, VoiceParams
from app.services.speech.elevenlabs import ElevenLabsSpeech
from app.services.speech.local import LocalSpeech
from app.services.speech.reuse import CACHE_PREFIX, ReusingSpeech, take_key
from app.services.speech.timings import word_timings
from app.services.storage.local import LocalStorage
from tests.fakes.elevenlabs_server import FakeElevenLabs, elevenlabs_server
from tests.integration.providers.conftest import container_duration

EN = VoiceParams("en_adam", "en", "en-us+m4", 35, 155, "pNInz6obpgDQGcFmaJgB")
RU = VoiceParams("ru_alisa", "ru", "ru+f3", 65, 165, "EXAVITQu4vr4xnSDxMaL")
SCRIPT = "Hello! Try our new cream today."


class BrokenStorage(LocalStorage):
    """A storage whose writes fail (an outage), reads still work."""

    async def put_file(self, key: str, path: Path, *, content_type: str) -> StoredObject:
        raise ConnectionError("storage is down")


@pytest.fixture
async def fake() -> AsyncIterator[FakeElevenLabs]:
    async with elevenlabs_server() as server:
        yield server


@pytest.fixture
async def elevenlabs(fake: FakeElevenLabs) -> AsyncIterator[ElevenLabsSpeech]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield ElevenLabsSpeech(http=http, api_key=fake.key, base_url=fake.url)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


@pytest.fixture
def speech(elevenlabs: ElevenLabsSpeech, storage: LocalStorage, tmp_path: Path) -> ReusingSpeech:
    return ReusingSpeech(elevenlabs, storage, scratch_dir=tmp_path / "scratch")


async def test_the_same_script_in_the_same_voice_is_paid_once(
    speech: ReusingSpeech, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    first = await speech.synthesize(SCRIPT, EN, workdir=tmp_path / "first")
    again = await speech.synthesize(SCRIPT, EN, workdir=tmp_path / "again")

    assert (fake.stats["synthesis_calls"], fake.stats["characters"]) == (1, len(SCRIPT))
    assert first.cost is not None and again.cost is None  # the ledger records one payment
    assert speech.name == again.provider == "elevenlabs"
    assert again.words == first.words
    assert [w.word for w in again.words] == SCRIPT.split()
    assert again.duration == first.duration
    assert again.wav.parent == tmp_path / "again" and again.wav != first.wav
    assert container_duration(again.wav) == pytest.approx(first.duration, abs=0.01)
    assert container_duration(again.ogg) == pytest.approx(first.duration, abs=0.1)


async def test_the_stored_take_lives_under_the_cache_prefix_in_the_timings_format(
    speech: ReusingSpeech, elevenlabs: ElevenLabsSpeech, storage: LocalStorage, tmp_path: Path
) -> None:
    take = await speech.synthesize(SCRIPT, EN, workdir=tmp_path / "take")

    folder = storage.root / CACHE_PREFIX / take_key(elevenlabs, SCRIPT, EN)
    names = await asyncio.to_thread(lambda: sorted(p.name for p in folder.iterdir()))
    assert names == ["speech.ogg", "speech.wav", "take.json", "words.json"]
    key = f"{CACHE_PREFIX}/{folder.name}/words.json"
    stored = await word_timings(storage, key, script="x", seconds=1.0, scratch=tmp_path / "read")
    assert stored == take.words  # the pipeline's timings loader reads it as it is


@pytest.mark.parametrize(
    ("text", "voice"),
    [
        ("Hello! Try our new cream today!", EN),  # one character differs
        (SCRIPT, RU),
        (SCRIPT, dataclasses.replace(EN, elevenlabs_settings=ElevenLabsVoiceSettings(stability=0.2))),
        (SCRIPT, dataclasses.replace(EN, language="ru")),
    ],
)
async def test_another_script_or_voice_is_a_new_paid_take(
    speech: ReusingSpeech, fake: FakeElevenLabs, tmp_path: Path, text: str, voice: VoiceParams
) -> None:
    await speech.synthesize(SCRIPT, EN, workdir=tmp_path)

    other = await speech.synthesize(text, voice, workdir=tmp_path)

    assert other.cost is not None
    assert fake.stats["synthesis_calls"] == 2


async def test_another_model_does_not_reuse_the_take(
    speech: ReusingSpeech, fake: FakeElevenLabs, storage: LocalStorage, tmp_path: Path
) -> None:
    await speech.synthesize(SCRIPT, EN, workdir=tmp_path)
    async with httpx.AsyncClient(timeout=10) as http:
        flash = ElevenLabsSpeech(http=http, api_key=fake.key, base_url=fake.url, model_id="eleven_flash_v2_5")
        other = ReusingSpeech(flash, storage, scratch_dir=tmp_path / "scratch")

        take = await other.synthesize(SCRIPT, EN, workdir=tmp_path)

    assert take.cost is not None and fake.stats["synthesis_calls"] == 2


@pytest.mark.parametrize(
    "damaged",
    [
        ("speech.ogg", None),  # removed
        ("speech.wav", b"RIFF\x00\x00"),  # cut short
        ("take.json", b"{not json"),
        ("words.json", b'[["Hello!", "soon"]]'),
        ("take.json", b'{"version": 99, "duration": 2.0, "provider": "elevenlabs"}'),  # another layout
    ],
)
async def test_a_damaged_stored_take_is_made_again_and_then_reused(
    speech: ReusingSpeech,
    fake: FakeElevenLabs,
    storage: LocalStorage,
    tmp_path: Path,
    damaged: tuple[str, bytes | None],
) -> None:
    name, damage = damaged
    await speech.synthesize(SCRIPT, EN, workdir=tmp_path)
    (entry,) = await asyncio.to_thread(lambda: list((storage.root / CACHE_PREFIX).iterdir()))
    path = entry / name
    if damage is None:
        await asyncio.to_thread(path.unlink)
    else:
        await asyncio.to_thread(path.write_bytes, damage)

    remade = await speech.synthesize(SCRIPT, EN, workdir=tmp_path)
    reused = await speech.synthesize(SCRIPT, EN, workdir=tmp_path)

    assert remade.cost is not None and reused.cost is None
    assert fake.stats["synthesis_calls"] == 2
    assert [w.word for w in reused.words] == SCRIPT.split()


async def test_a_storage_outage_still_gives_the_paid_take(
    elevenlabs: ElevenLabsSpeech, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    speech = ReusingSpeech(elevenlabs, BrokenStorage(tmp_path / "storage"), scratch_dir=tmp_path / "scratch")

    take = await speech.synthesize(SCRIPT, EN, workdir=tmp_path)

    assert take.cost is not None and [w.word for w in take.words] == SCRIPT.split()
    assert await asyncio.to_thread(lambda: list((tmp_path / "scratch").iterdir())) == []  # no leftovers


async def test_identical_takes_asked_at_once_are_paid_once(
    speech: ReusingSpeech, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    takes = await asyncio.gather(
        *(speech.synthesize(SCRIPT, EN, workdir=tmp_path / str(n)) for n in range(3))
    )

    assert fake.stats["synthesis_calls"] == 1
    assert sum(take.cost is not None for take in takes) == 1


async def test_any_synthesizer_is_reused_even_the_local_one(storage: LocalStorage, tmp_path: Path) -> None:
    speech = ReusingSpeech(LocalSpeech(), storage, scratch_dir=tmp_path / "scratch")

    first = await speech.synthesize("Привет, мир!", RU, workdir=tmp_path)
    await asyncio.to_thread(first.wav.unlink)  # the caller cleaned its work folder
    again = await speech.synthesize("Привет, мир!", RU, workdir=tmp_path)

    assert speech.name == again.provider == "local"
    assert again.duration == first.duration
    assert container_duration(again.wav) == pytest.approx(first.duration, abs=0.01)


async def test_a_blank_script_is_refused(speech: ReusingSpeech, fake: FakeElevenLabs, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="blank"):
        await speech.synthesize("  ", EN, workdir=tmp_path)

    assert fake.stats["tts_requests"] == 0
