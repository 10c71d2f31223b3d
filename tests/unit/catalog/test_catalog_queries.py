"""What the galleries ask of the catalog: gender filters, lookups of (forged) ids, texts, voice params."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.catalog import Catalog
from app.services.providers import VoiceParams
from tests.unit.catalog.files import CHARACTERS_YAML, LOCALES, write_catalog

THREE_CHARACTERS = CHARACTERS_YAML + (
    "  - id: clara\n    name: {ru: Клара, en: Clara}\n    gender: female\n    age: 40\n"
    "    age_group: adult\n    image: characters/anna.jpg\n"
)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog.load(write_catalog(tmp_path / "catalog", THREE_CHARACTERS), LOCALES, "ru")


def test_galleries_keep_file_order_and_filter_by_gender(catalog: Catalog) -> None:
    assert [c.id for c in catalog.characters()] == ["anna", "boris", "clara"]
    assert [c.id for c in catalog.characters("female")] == ["anna", "clara"]
    assert [c.id for c in catalog.characters("male")] == ["boris"]
    assert [v.id for v in catalog.voices()] == ["ru_alisa", "en_adam"]
    assert [v.id for v in catalog.voices("male")] == ["en_adam"]


@pytest.mark.parametrize("forged", ["", "nobody", "anna'", "ANNA", "en_adam"])
def test_an_id_not_in_the_catalog_finds_no_character(catalog: Catalog, forged: str) -> None:
    assert catalog.character(forged) is None


def test_lookups_find_characters_and_voices_by_id(catalog: Catalog) -> None:
    boris = catalog.character("boris")
    assert boris is not None
    assert (boris.gender, boris.age, boris.age_group) == ("male", 60, "senior")
    assert boris.tags == ("business", "expert")
    assert catalog.voice("anna") is None
    alisa = catalog.voice("ru_alisa")
    assert alisa is not None and alisa.accent == {"ru": "русский", "en": "Russian"}


def test_texts_come_in_the_asked_locale_else_the_default_one(catalog: Catalog) -> None:
    alisa = catalog.voice("ru_alisa")
    assert alisa is not None
    assert catalog.text(alisa.name, "en") == "Alisa"
    assert catalog.text(alisa.name, "de") == "Алиса"
    assert catalog.text(alisa.description, "en") == "A soft voice"
    assert catalog.text(None, "en") == ""


def test_a_voice_speaks_its_own_language_with_its_local_voice(catalog: Catalog) -> None:
    alisa = catalog.voice("ru_alisa")
    assert alisa is not None
    assert alisa.params("ru") == VoiceParams(
        voice_id="ru_alisa",
        language="ru",
        local_voice="ru+f3",
        pitch=65,
        speed=165,
        elevenlabs_voice_id="EXAVITQu4vr4xnSDxMaL",
    )


def test_another_listed_language_keeps_the_local_variant(catalog: Catalog) -> None:
    adam = catalog.voice("en_adam")
    assert adam is not None
    params = adam.params("ru")
    assert (params.language, params.local_voice, params.pitch) == ("ru", "ru+m4", 35)


def test_a_language_the_voice_lacks_falls_back_to_its_own(catalog: Catalog) -> None:
    alisa = catalog.voice("ru_alisa")
    assert alisa is not None
    params = alisa.params("en")
    assert (params.language, params.local_voice) == ("ru", "ru+f3")


def test_catalog_models_cannot_be_changed_after_loading(catalog: Catalog) -> None:
    anna = catalog.character("anna")
    assert anna is not None
    with pytest.raises(ValueError, match="frozen"):
        anna.age = 99  # type: ignore[misc]
