"""The catalog shipped in the repository: clean, covering every gender and age, with playable samples."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from PIL import Image

from app.cli.check_catalog import locales_of, main
from app.services.catalog import AGE_GROUPS, GENDERS, Catalog
from tests.integration.catalog.media import ROOT, probe_audio

CATALOG = ROOT / "catalog"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    locales, default_locale = locales_of(ROOT / "flows.yaml")
    return Catalog.load(CATALOG, locales, default_locale)


def test_check_catalog_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(CATALOG), "--flows", str(ROOT / "flows.yaml")])

    summary = f"{CATALOG}: OK — 12 characters, 8 voices, 3 caption styles\n"
    assert (code, capsys.readouterr().out) == (0, summary)


def test_the_make_target_command_checks_the_catalog_from_the_repository_root() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "check-catalog", "catalog"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    summary = "catalog: OK — 12 characters, 8 voices, 3 caption styles\n"
    assert (result.returncode, result.stdout) == (0, summary), result.stderr


@pytest.mark.parametrize(("gender", "age_group"), list(itertools.product(GENDERS, AGE_GROUPS)))
def test_every_gender_has_two_characters_of_every_age_group(
    catalog: Catalog, gender: str, age_group: str
) -> None:
    found = [c.id for c in catalog.characters() if (c.gender, c.age_group) == (gender, age_group)]
    assert len(found) >= 2, found


@pytest.mark.parametrize(("language", "gender"), list(itertools.product(("ru", "en"), GENDERS)))
def test_every_language_has_two_voices_of_each_gender(catalog: Catalog, language: str, gender: str) -> None:
    found = [v.id for v in catalog.voices() if v.languages[0] == language and v.gender == gender]
    assert len(found) >= 2, found


def test_voices_span_the_age_groups_and_use_distinct_elevenlabs_voices(catalog: Catalog) -> None:
    voices = catalog.voices()
    assert {v.age_group for v in voices} == set(AGE_GROUPS)
    assert len({v.elevenlabs_voice_id for v in voices}) == len(voices)


def test_portraits_are_vertical_9_16_photos(catalog: Catalog) -> None:
    for character in catalog.characters():
        with Image.open(character.image) as image:
            width, height = image.size
        assert abs(width / height - 9 / 16) < 0.01, (character.id, image.size)


def test_samples_are_short_mono_opus_voice_messages(catalog: Catalog) -> None:
    for voice in catalog.voices():
        facts = probe_audio(voice.sample)
        assert (facts.codec, facts.channels, facts.sample_rate) == ("opus", 1, 48000), voice.id
        assert 1.5 <= facts.duration <= 10, (voice.id, facts.duration)
        assert voice.sample.stat().st_size < 100 * 1024, voice.id
