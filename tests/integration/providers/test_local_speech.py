"""espeak-ng speech as heard: a playable voice message of the measured length, the text said literally."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.services.providers import ProviderError, VoiceParams
from app.services.speech.local import LocalSpeech
from tests.integration.providers.conftest import container_duration, streams

RU = VoiceParams("anna", "ru", "ru+f3", 55, 165, "premade-ru")
EN = VoiceParams("mike", "en", "en-us", 40, 170, "premade-en")


@pytest.mark.parametrize(
    ("voice", "text"),
    [
        (RU, "Привет! Это наш новый крем для лица, попробуйте его уже сегодня."),
        (EN, "Hi there! This is our new face cream, try it today."),
    ],
)
async def test_a_take_is_a_wav_and_an_opus_voice_message_of_the_measured_length(
    tmp_path: Path, voice: VoiceParams, text: str
) -> None:
    take = await LocalSpeech().synthesize(text, voice, workdir=tmp_path)

    assert take.provider == "local"
    assert 2.0 < take.duration < 10.0
    assert container_duration(take.wav) == pytest.approx(take.duration, abs=0.01)
    assert container_duration(take.ogg) == pytest.approx(take.duration, abs=0.1)
    (opus,) = streams(take.ogg, "audio")
    assert (opus["codec_name"], opus["sample_rate"], opus["channels"]) == ("opus", "48000", 1)
    assert streams(take.wav, "audio")[0]["codec_name"] == "pcm_s16le"
    assert [w.word for w in take.words] == text.split()
    assert take.words[-1].end == pytest.approx(take.duration)


async def test_html_quotes_and_leading_dashes_are_spoken_as_text(tmp_path: Path) -> None:
    speech = LocalSpeech()
    short = await speech.synthesize("Hi", EN, workdir=tmp_path)

    tricky = await speech.synthesize(
        "--help -v <b>Hi</b> \"it's\" $(rm -rf /) [[h@l'oU]]\nnext line", EN, workdir=tmp_path
    )

    # Markup or option parsing would have swallowed most of it; spoken literally it is much longer than "Hi".
    assert tricky.duration > short.duration + 2.0
    assert container_duration(tricky.ogg) == pytest.approx(tricky.duration, abs=0.1)


async def test_ssml_tags_are_not_obeyed(tmp_path: Path) -> None:
    """With markup on, <break time="5s"/> would add silence; spoken as text it only adds a few words."""
    speech = LocalSpeech()
    plain = await speech.synthesize("one two", EN, workdir=tmp_path)

    tagged = await speech.synthesize('one <break time="5s"/> two', EN, workdir=tmp_path)

    assert tagged.duration < plain.duration + 4.0


async def test_each_take_gets_its_own_files(tmp_path: Path) -> None:
    speech = LocalSpeech()

    first = await speech.synthesize("Hello", EN, workdir=tmp_path)
    second = await speech.synthesize("Hello again", EN, workdir=tmp_path)

    assert first.ogg != second.ogg
    assert first.ogg.exists()
    assert second.ogg.exists()
    assert sorted(Path(p).suffix for p in os.listdir(tmp_path)) == [
        ".ogg",
        ".ogg",
        ".wav",
        ".wav",
    ]  # no leftover input


async def test_pitch_and_speed_change_the_take(tmp_path: Path) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    slow = await LocalSpeech().synthesize(
        text, VoiceParams("a", "en", "en-us", 50, 120, ""), workdir=tmp_path
    )
    fast = await LocalSpeech().synthesize(
        text, VoiceParams("b", "en", "en-us", 50, 260, ""), workdir=tmp_path
    )

    assert slow.duration > fast.duration * 1.5


@pytest.mark.parametrize("text", ["", "   \n\t "])
async def test_blank_text_is_refused_before_any_work(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError, match="blank"):
        await LocalSpeech().synthesize(text, EN, workdir=tmp_path / "never")

    assert not (tmp_path / "never").exists()


async def test_an_unknown_espeak_voice_is_a_speech_failure(tmp_path: Path) -> None:
    voice = VoiceParams("x", "xx", "xx-nothing", 50, 170, "")

    with pytest.raises(ProviderError) as caught:
        await LocalSpeech().synthesize("Hello", voice, workdir=tmp_path)

    assert caught.value.reason == "speech_failed"


async def test_a_missing_espeak_binary_is_a_speech_failure(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as caught:
        await LocalSpeech(espeak=str(tmp_path / "espeak-ng")).synthesize("Hello", EN, workdir=tmp_path)

    assert caught.value.reason == "speech_failed"
