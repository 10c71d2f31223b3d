"""catalog/pricing.yaml: the repository's file loads; a broken one is refused with file, line and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.pricing import Pricing
from app.services.pricing import CatalogError, load_pricing

ROOT = Path(__file__).resolve().parents[3]

VALID = """\
welcome_bonus: 50
look_edit: 2
speech: 3
video_per_5s: 5
background_surcharge: 5
max_video_seconds: 30
max_look_edits: 3
max_active_generations: 2
chars_per_second:
  ru: 13
  en: 15
"""


def load(tmp_path: Path, text: str) -> Pricing:
    path = tmp_path / "pricing.yaml"
    path.write_text(text, encoding="utf-8")
    return load_pricing(path)


def test_the_repository_pricing_loads_and_matches_its_worked_example() -> None:
    pricing = load_pricing(ROOT / "catalog/pricing.yaml")

    # The example in the file's header comment: 12 s of speech over a background.
    assert pricing.quote("background", 12.0).total == 23
    assert pricing.max_video_seconds == 30
    assert pricing.max_script_chars("ru") == 390 and pricing.max_script_chars("en") == 450
    assert pricing.max_active_generations >= 1 and pricing.max_look_edits >= 1


def test_a_valid_file_becomes_the_domain_pricing(tmp_path: Path) -> None:
    pricing = load(tmp_path, VALID)
    assert (pricing.look_edit, pricing.welcome_bonus, dict(pricing.chars_per_second)) == (
        2,
        50,
        {"ru": 13.0, "en": 15.0},
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("speech: 3", "speech: -1"), ":3: speech: Input should be greater than or equal to 0"),
        (("look_edit: 2", "look_edit: 0"), ":2: look_edit: Input should be greater than or equal to 1"),
        (("video_per_5s: 5", 'video_per_5s: "5"'), ":4: video_per_5s: Input should be a valid integer"),
        (("speech: 3", "speech: 2.5"), ":3: speech: Input should be a valid integer"),
        (("max_active_generations: 2", "max_active_generations: 0"), ":8: max_active_generations: Input"),
        (("  ru: 13", "  ru: 0"), ":10: chars_per_second.ru: Input should be greater than 1"),
        (("  ru: 13", "  Russian: 13"), ":10: chars_per_second.Russian.[key]: String should match pattern"),
        (("max_look_edits: 3\n", "max_look_edits: 3\nmax_edits: 3\n"), ":8: max_edits: Extra inputs"),
        (("welcome_bonus: 50\n", ""), ":1: welcome_bonus: Field required"),
        (
            ("video_per_5s: 5", "video_per_5s: 200000"),
            ": top level: Value error, the longest video would cost",
        ),
    ],
)
def test_a_wrong_price_or_limit_is_refused_naming_file_and_line(
    tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    old, new = change
    assert old in VALID
    with pytest.raises(CatalogError) as info:
        load(tmp_path, VALID.replace(old, new))
    assert str(tmp_path / "pricing.yaml") in str(info.value)
    assert problem in str(info.value)


def test_a_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"pricing\.yaml: cannot read"):
        load_pricing(tmp_path / "pricing.yaml")
