"""Caption styles: the shipped catalog loads; a broken file is refused naming file, style, field and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.captions import CaptionStyleError, Colour, build_ass, load_caption_styles
from app.services.providers import WordTiming

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "catalog" / "captions.yaml"

VALID = """\
default: bold
styles:
  bold:
    font: DejaVu Sans
    size: 60
    uppercase: true
    colour: "#FFFFFF"
    highlight: "#FFE135"
    outline: 5
    margin_bottom: 330
    max_words: 3
    max_chars: 14
  clean:
    font: DejaVu Sans
    size: 42
    colour: "#FFFFFF"
    box: "#000000A6"
    margin_bottom: 300
    max_words: 5
    max_chars: 26
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "captions.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(CaptionStyleError) as caught:
        load_caption_styles(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def test_the_shipped_catalog_loads_with_the_three_styles_and_a_default() -> None:
    styles = load_caption_styles(CATALOG)

    assert {"bold", "clean", "karaoke"} <= set(styles.names)
    assert styles.default in styles.names
    bold, clean, karaoke = styles.style("bold"), styles.style("clean"), styles.style("karaoke")
    assert bold.uppercase and bold.highlight is not None and bold.outline > 0 and bold.max_words <= 3
    assert not clean.uppercase and clean.box is not None and clean.box.alpha < 255 and clean.highlight is None
    assert karaoke.highlight_mode == "karaoke"


def test_every_shipped_style_renders_a_document_with_captions() -> None:
    styles = load_caption_styles(CATALOG)
    words = [WordTiming("Привет", 0.0, 0.4), WordTiming("world", 0.4, 0.9)]

    for name in styles.names:
        document = build_ass(words, styles.style(name))
        assert "Dialogue:" in document, name


def test_an_unknown_or_missing_style_name_falls_back_to_the_default() -> None:
    styles = load_caption_styles(CATALOG)

    assert styles.style(None) == styles.style(styles.default)
    assert styles.style("renamed_last_year") == styles.style(styles.default)


def test_a_valid_file_keeps_the_written_values(tmp_path: Path) -> None:
    styles = load_caption_styles(write(tmp_path, VALID))

    assert styles.names == ("bold", "clean")
    assert styles.style("clean").box == Colour(0, 0, 0, 0xA6)
    assert styles.style("bold").highlight == Colour(0xFF, 0xE1, 0x35)


def test_colours_become_ass_colours_with_inverted_alpha() -> None:
    half_red = Colour.parse("#FF000080")

    assert half_red.ass_style == "&H7F0000FF"
    assert (half_red.ass_bgr, half_red.ass_alpha) == ("&H0000FF&", "&H7F&")
    assert Colour.parse("#12ab34").ass_style == "&H0034AB12"


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("size: 60", "size: 300", "styles.bold.size: must be between 20 and 200 (line 5)"),
        ("size: 60", "size: big", "styles.bold.size: must be a whole number (line 5)"),
        (
            'colour: "#FFFFFF"\n    highlight',
            "colour: #FFFFFF\n    highlight",
            'styles.bold.colour: must be a colour written "#RRGGBB" or "#RRGGBBAA" in quotes '
            "(a bare # starts a YAML comment) (line 7)",
        ),
        (
            'highlight: "#FFE135"',
            "highlight: yellow",
            'styles.bold.highlight: must be a colour written "#RRGGBB" or "#RRGGBBAA", not \'yellow\'',
        ),
        ('box: "#000000A6"', 'box: "#000"', "styles.clean.box: must be a colour written"),
        ("max_words: 3", "max_words: 0", "styles.bold.max_words: must be between 1 and 12 (line 11)"),
        ("outline: 5", "outline: 5\n    outlin: 2", "styles.bold.outlin: unknown field (known: font, bold,"),
        ("    max_chars: 14\n", "", "styles.bold.max_chars: is required (line 3)"),
        (
            "font: DejaVu Sans\n    size: 60",
            'font: "DejaVu, Sans"\n    size: 60',
            "styles.bold.font: must be",
        ),
        ("default: bold", "default: neon", "default: no style named 'neon' (styles: bold, clean) (line 1)"),
        ("  bold:", "  Bold-1:", "styles.Bold-1: style name 'Bold-1' must be lower-case letters"),
        (
            'highlight: "#FFE135"',
            'highlight: "#FFE135"\n    highlight_mode: flashy',
            "styles.bold.highlight_mode: input should be 'word' or 'karaoke'",
        ),
        (
            'highlight: "#FFE135"',
            "highlight_mode: karaoke",
            "styles.bold.highlight_mode: karaoke needs a highlight colour to sweep in",
        ),
        (
            'box: "#000000A6"',
            'box: "#000000A6"\n    outline: 3',
            "styles.clean.outline: must be 0 when the style has a box",
        ),
    ],
)
def test_a_broken_style_is_refused_naming_the_style_and_field(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    assert old in VALID
    assert refusal(tmp_path, VALID.replace(old, new, 1)).startswith(problem)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "top level: the file must be a mapping with default: and styles:"),
        ("default: bold\nstyles: {}\n", "styles: needs at least one style"),
        ("default: bold\nstyles: [\n", "not valid YAML"),
    ],
)
def test_a_file_without_styles_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    assert refusal(tmp_path, text).startswith(problem)


def test_every_problem_of_a_file_is_listed_at_once(tmp_path: Path) -> None:
    text = VALID.replace("size: 60", "size: 300").replace("max_chars: 26", "max_chars: 2")

    lines = refusal(tmp_path, text).split("\n")

    assert len(lines) == 2
    assert "styles.bold.size" in lines[0] and "styles.clean.max_chars: must be between 4 and 80" in lines[1]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CaptionStyleError, match=r"captions\.yaml: cannot read: No such file"):
        load_caption_styles(tmp_path / "captions.yaml")
