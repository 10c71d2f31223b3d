"""``python -m app check-catalog``: one PATH:LINE: message per problem and exit 1, or a one-line summary."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.cli.check_catalog import locales_of, main, run
from tests.unit.catalog.files import CAPTIONS_YAML, CHARACTERS_YAML, LOCALES, VOICES_YAML, write_catalog


def test_a_clean_catalog_prints_one_summary_line(tmp_path: Path) -> None:
    out = io.StringIO()

    code = run(write_catalog(tmp_path / "catalog"), LOCALES, "ru", out)

    assert code == 0
    assert out.getvalue() == f"{tmp_path / 'catalog'}: OK — 2 characters, 2 voices, 1 caption styles\n"


def test_a_broken_caption_style_is_reported_with_file_style_and_field(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "catalog")
    (root / "captions.yaml").write_text(CAPTIONS_YAML.replace("size: 60", "size: 500"), encoding="utf-8")
    out = io.StringIO()

    code = run(root, LOCALES, "ru", out)

    assert code == 1
    assert "captions.yaml: styles.plain.size:" in out.getvalue()


def test_each_problem_is_one_path_line_message_and_the_exit_code_is_1(tmp_path: Path) -> None:
    root = write_catalog(
        tmp_path / "catalog",
        CHARACTERS_YAML.replace("id: boris", "id: anna"),
        VOICES_YAML.replace("[ru]", "[ru, ru]"),
    )
    (root / "voices/en_adam.ogg").write_bytes(b"ID3 an mp3")
    out = io.StringIO()

    code = run(root, LOCALES, "ru", out)

    assert code == 1
    assert out.getvalue().splitlines() == [
        f"{root}/characters.yaml:9: characters[1].id: Value error, character id 'anna' is used twice",
        f"{root}/voices.yaml:7: voices[0].languages: Value error, a language is listed twice",
        f"{root}/voices.yaml:20: voices[1].sample: Value error, voices/en_adam.ogg: "
        "not an OGG file, a voice sample must be OGG/Opus",
    ]


def test_names_are_required_in_every_locale_of_the_flows_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_catalog(tmp_path / "catalog")
    flows = tmp_path / "flows.yaml"
    flows.write_text("version: 1\nlocales: [ru, en, de]\ndefault_locale: en\n", encoding="utf-8")
    assert locales_of(flows) == (["ru", "en", "de"], "en")

    code = main([str(root), "--flows", str(flows)])

    assert code == 1
    assert ":3: characters[0].name: Value error, missing locale de" in capsys.readouterr().out


def test_a_flows_file_without_locales_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flows = tmp_path / "flows.yaml"
    flows.write_text("version: 1\n", encoding="utf-8")

    assert main([str(write_catalog(tmp_path / "catalog")), "--flows", str(flows)]) == 2
    assert "no `locales:` list" in capsys.readouterr().err
