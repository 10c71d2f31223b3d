"""Each catalog rule refuses a broken catalog naming the file, the line and what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from app.services.catalog import Catalog, age_group_of
from app.services.catalog_files import CatalogError
from tests.unit.catalog.files import (
    CHARACTERS_YAML,
    LOCALES,
    VOICES_YAML,
    VORBIS_FILE,
    write_catalog,
    write_image,
)


def problems_of(root: Path) -> str:
    with pytest.raises(CatalogError) as info:
        Catalog.load(root, LOCALES, "ru")
    return str(info.value)


def test_a_valid_catalog_loads_with_paths_inside_its_directory(tmp_path: Path) -> None:
    catalog = Catalog.load(write_catalog(tmp_path / "catalog"), LOCALES, "ru")

    anna = catalog.character("anna")
    assert anna is not None and anna.image == tmp_path / "catalog/characters/anna.jpg"
    assert anna.tags == ("casual",)
    adam = catalog.voice("en_adam")
    assert adam is not None and adam.sample == tmp_path / "catalog/voices/en_adam.ogg"
    assert adam.description is None


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        (
            "characters",
            "id: boris",
            "id: anna",
            ":9: characters[1].id: Value error, character id 'anna' is used twice",
        ),
        (
            "characters",
            "{ru: Борис, en: Boris}",
            "{ru: Борис}",
            ":10: characters[1].name: Value error, missing locale en",
        ),
        (
            "characters",
            "{ru: Анна, en: Anna}",
            "{ru: Анна, en: ''}",
            ":3: characters[0].name.en: String should have at",
        ),
        (
            "characters",
            "id: anna",
            "id: anna_" + "x" * 20,
            ":2: characters[0].id: Value error, id is longer than 24 bytes",
        ),
        ("characters", "id: anna", "id: Anna-1", ":2: characters[0].id: String should match pattern"),
        ("characters", "id: anna", "id: анна", ":2: characters[0].id: String should match pattern"),
        (
            "characters",
            "age: 24",
            "age: 31",
            ":6: characters[0].age_group: Value error, age 31 is adult, not young",
        ),
        (
            "characters",
            "age: 60",
            "age: 54",
            ":13: characters[1].age_group: Value error, age 54 is adult, not senior",
        ),
        (
            "characters",
            "age: 24",
            "age: 17",
            ":5: characters[0].age: Input should be greater than or equal to 18",
        ),
        (
            "characters",
            "gender: female",
            "gender: other",
            ":4: characters[0].gender: Input should be 'female' or 'male'",
        ),
        ("characters", "gender: male", "gender: female", ":1: top level: Value error, no male character"),
        ("characters", "[casual]", "[Casual Wear]", ":8: characters[0].tags[0]: String should match pattern"),
        (
            "characters",
            "    tags: [casual]\n",
            "    tags: [casual]\n    photo: x.jpg\n",
            ":9: characters[0].photo: Extra inputs",
        ),
        (
            "characters",
            "characters/anna.jpg",
            "../outside.jpg",
            ":7: characters[0].image: Value error, ../outside.jpg: must be a path inside",
        ),
        (
            "characters",
            "characters/anna.jpg",
            "/etc/hostname",
            ":7: characters[0].image: Value error, /etc/hostname: must be a path inside",
        ),
        (
            "voices",
            "id: en_adam",
            "id: ru_alisa",
            ":12: voices[1].id: Value error, voice id 'ru_alisa' is used twice",
        ),
        (
            "voices",
            "{ru: американский, en: American}",
            "{en: American}",
            ":16: voices[1].accent: Value error, missing locale ru",
        ),
        (
            "voices",
            "{ru: Мягкий голос, en: A soft voice}",
            "{ru: Мягкий голос}",
            ":11: voices[0].description: Value error, missing locale en",
        ),
        (
            "voices",
            "{ru: Адам, en: Adam}",
            "{ru: Адам}",
            ":13: voices[1].name: Value error, missing locale en",
        ),
        (
            "voices",
            "id: en_adam",
            "id: en_adam_" + "x" * 20,
            ":12: voices[1].id: Value error, id is longer than 24 bytes",
        ),
        (
            "voices",
            "ru+f3",
            "en-us+f3",
            ":9: voices[0].local: Value error, espeak-ng voice 'en-us+f3' speaks en, the voice's",
        ),
        (
            "voices",
            "pitch: 65",
            "pitch: 120",
            ":9: voices[0].local.pitch: Input should be less than or equal to 99",
        ),
        (
            "voices",
            "speed: 165",
            "speed: 10",
            ":9: voices[0].local.speed: Input should be greater than or equal to 80",
        ),
        ("voices", "ru+f3", "ru; rm -rf /", ":9: voices[0].local.voice: String should match pattern"),
        (
            "voices",
            "EXAVITQu4vr4xnSDxMaL",
            "Bella",
            ":8: voices[0].elevenlabs_voice_id: String should match pattern",
        ),
        (
            "voices",
            "[en, ru]",
            "[en, en]",
            ":17: voices[1].languages: Value error, a language is listed twice",
        ),
        ("voices", "[ru]", "[]", ":7: voices[0].languages: Tuple should have at least 1 item"),
        (
            "voices",
            "age_group: adult",
            "age_group: old",
            ":15: voices[1].age_group: Input should be 'young', 'adult' or",
        ),
        ("voices", "gender: male", "gender: female", ":1: top level: Value error, no male voice"),
        (
            "voices",
            "voices/ru_alisa.ogg",
            "../ru_alisa.ogg",
            ":10: voices[0].sample: Value error, ../ru_alisa.ogg: must be a path inside",
        ),
        ("voices", "voices:\n", "voices: [\n", "voices.yaml: not valid YAML"),
    ],
)
def test_a_broken_file_is_refused_naming_file_line_and_problem(
    tmp_path: Path, file: str, old: str, new: str, problem: str
) -> None:
    texts = {"characters": CHARACTERS_YAML, "voices": VOICES_YAML}
    assert old in texts[file]
    texts[file] = texts[file].replace(old, new, 1)
    root = write_catalog(tmp_path / "catalog", texts["characters"], texts["voices"])

    message = problems_of(root)

    assert message.startswith(str(root / f"{file}.yaml"))
    assert problem in message


def _gif(path: Path) -> None:
    Image.new("RGB", (72, 128)).save(path, "GIF")


def _text(path: Path) -> None:
    path.write_text("not a picture", encoding="utf-8")


def _over_10_mb(path: Path) -> None:
    write_image(path)
    with path.open("ab") as file:  # bytes after the JPEG's end still count for Telegram's size limit
        file.write(bytes(10 * 1024 * 1024))


def _sides_over_10000(path: Path) -> None:
    write_image(path, (9000, 1200), "PNG")


def _too_thin(path: Path) -> None:
    write_image(path, (2100, 100), "PNG")


def _wav(path: Path) -> None:
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32))


def _vorbis(path: Path) -> None:
    path.write_bytes(VORBIS_FILE)


def _directory(path: Path) -> None:
    path.mkdir()


@pytest.mark.parametrize(
    ("file", "break_it", "problem"),
    [
        (
            "characters/anna.jpg",
            Path.unlink,
            "characters.yaml:7: characters[0].image: Value error, characters/anna.jpg: file not",
        ),
        ("characters/anna.jpg", _gif, "characters/anna.jpg: is GIF, a photo must be JPEG or PNG"),
        ("characters/anna.jpg", _text, "characters/anna.jpg: not an image"),
        (
            "characters/anna.jpg",
            _over_10_mb,
            "characters/anna.jpg: is 10.0 MB, Telegram takes photos up to 10 MB",
        ),
        (
            "characters/boris.png",
            _sides_over_10000,
            ":14: characters[1].image: Value error, characters/boris.png: is 9000×1200, Telegram",
        ),
        (
            "characters/boris.png",
            _too_thin,
            "characters/boris.png: is 2100×100, Telegram needs a side ratio of at most 20",
        ),
        (
            "voices/ru_alisa.ogg",
            Path.unlink,
            "voices.yaml:10: voices[0].sample: Value error, voices/ru_alisa.ogg: file not",
        ),
        (
            "voices/en_adam.ogg",
            _wav,
            ":20: voices[1].sample: Value error, voices/en_adam.ogg: not an OGG file",
        ),
        ("voices/en_adam.ogg", _vorbis, "voices/en_adam.ogg: an OGG file without Opus audio"),
        ("voices/en_adam.ogg", _directory, "voices/en_adam.ogg: cannot read"),
    ],
)
def test_a_missing_or_unfit_file_is_refused_at_the_line_naming_it(
    tmp_path: Path, file: str, break_it: Callable[[Path], None], problem: str
) -> None:
    root = write_catalog(tmp_path / "catalog")
    path = root / file
    path.unlink()
    if break_it is not Path.unlink:
        break_it(path)

    assert problem in problems_of(root)


def test_values_just_within_the_limits_are_taken(tmp_path: Path) -> None:
    longest_id = "anna_" + "x" * 19  # 24 bytes
    characters = CHARACTERS_YAML.replace("id: anna", f"id: {longest_id}").replace("age: 60", "age: 55")
    root = write_catalog(tmp_path / "catalog", characters)
    write_image(root / "characters/anna.jpg", (100, 2000))  # ratio exactly 20
    write_image(root / "characters/boris.png", (5000, 5000), "PNG")  # width + height exactly 10000

    catalog = Catalog.load(root, LOCALES, "ru")

    assert [c.id for c in catalog.characters()] == [longest_id, "boris"]


def test_problems_of_both_files_are_reported_together(tmp_path: Path) -> None:
    root = write_catalog(
        tmp_path / "catalog",
        CHARACTERS_YAML.replace("age: 24", "age: 40"),
        VOICES_YAML.replace("pitch: 35", "pitch: 100"),
    )
    (root / "characters/boris.png").unlink()

    lines = problems_of(root).splitlines()

    assert [line.split(": ")[0] for line in lines] == [
        f"{root}/characters.yaml:6",
        f"{root}/characters.yaml:14",
        f"{root}/voices.yaml:19",
    ]


@pytest.mark.parametrize("file", ["characters", "voices"])
def test_an_empty_gallery_is_refused(tmp_path: Path, file: str) -> None:
    texts = {"characters": CHARACTERS_YAML, "voices": VOICES_YAML, file: f"{file}: []\n"}
    root = write_catalog(tmp_path / "catalog", texts["characters"], texts["voices"])

    problem = f"{file}.yaml:1: top level: Value error, no {file}: the gallery would be empty"
    assert problem in problems_of(root)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "catalog")
    (root / "voices.yaml").unlink()

    assert problems_of(root).startswith(f"{root / 'voices.yaml'}: cannot read")


@pytest.mark.parametrize(
    ("age", "group"),
    [(18, "young"), (29, "young"), (30, "adult"), (54, "adult"), (55, "senior"), (90, "senior")],
)
def test_age_groups_split_at_30_and_55(age: int, group: str) -> None:
    assert age_group_of(age) == group
