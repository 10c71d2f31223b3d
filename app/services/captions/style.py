"""Caption styles: ``catalog/captions.yaml`` parsed into frozen, validated models.

Pixel values (size, outline, margins) are for a 720×1280 frame; :mod:`app.services.captions.ass` scales them
to the video. Every error names the file, the style and the field, so a typo fails at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails

# Style names travel in callback data and database rows: short, plain.
STYLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
_HEX_COLOUR = re.compile(r"^#([0-9A-Fa-f]{6})([0-9A-Fa-f]{2})?$")
# A comma would end the Fontname field of the ASS style line; control characters have no place in a name.
_BAD_FONT_CHARS = re.compile(r"[,\x00-\x1f\x7f]")
_COLOUR_FORMAT = 'a colour written "#RRGGBB" or "#RRGGBBAA"'


class CaptionStyleError(ValueError):
    """``catalog/captions.yaml`` is missing, is not YAML, or a style in it is invalid."""


@dataclass(frozen=True, slots=True)
class Colour:
    """An sRGB colour with opacity (``alpha`` 255 is opaque, as in ``#RRGGBBAA``)."""

    red: int
    green: int
    blue: int
    alpha: int = 255

    @classmethod
    def parse(cls, text: str) -> Colour:
        """``#RRGGBB`` or ``#RRGGBBAA``; ValueError otherwise."""
        match = _HEX_COLOUR.match(text)
        if match is None:
            raise ValueError(f"must be {_COLOUR_FORMAT}, not {text!r}")
        rgb, alpha = match.group(1), match.group(2) or "FF"
        return cls(int(rgb[0:2], 16), int(rgb[2:4], 16), int(rgb[4:6], 16), int(alpha, 16))

    @property
    def ass_bgr(self) -> str:
        """The colour as ASS override tags write it: ``&HBBGGRR&``."""
        return f"&H{self.blue:02X}{self.green:02X}{self.red:02X}&"

    @property
    def ass_alpha(self) -> str:
        """The opacity as ASS writes it (inverted: 00 is opaque): ``&HAA&``."""
        return f"&H{255 - self.alpha:02X}&"

    @property
    def ass_style(self) -> str:
        """The colour as an ASS style line writes it: ``&HAABBGGRR``."""
        return f"&H{255 - self.alpha:02X}{self.blue:02X}{self.green:02X}{self.red:02X}"


def _colour(value: Any) -> Colour:
    if isinstance(value, Colour):
        return value
    if value is None:
        # ``colour: #FFFFFF`` without quotes is a YAML comment, so the value arrives as null.
        raise ValueError(f"must be {_COLOUR_FORMAT} in quotes (a bare # starts a YAML comment)")
    if not isinstance(value, str):
        raise ValueError(f"must be {_COLOUR_FORMAT} in quotes, not {value!r}")
    return Colour.parse(value)


ColourField = Annotated[Colour, PlainValidator(_colour)]
# An explicit null is refused too: it is almost always an unquoted "#…" the YAML parser swallowed.
OptionalColourField = Annotated[Colour | None, PlainValidator(_colour)]


class CaptionStyle(BaseModel):
    """How burned-in captions look: font, colours, outline or box, position, and how words are grouped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    font: str = Field(min_length=1, max_length=64)  # a family fontconfig knows, e.g. "DejaVu Sans"
    bold: bool = True
    size: int = Field(ge=20, le=200)  # ASS font size on a 1280-pixel-high frame
    uppercase: bool = False
    colour: ColourField
    highlight: OptionalColourField = None  # the word being spoken; None: no highlight
    # "word": only the word being spoken takes the highlight; "karaoke": the highlight sweeps through each
    # word as it is spoken and stays until the line ends.
    highlight_mode: Literal["word", "karaoke"] = "word"
    box: OptionalColourField = None  # a background box behind each line instead of an outline
    box_padding: int = Field(default=12, ge=0, le=60)
    outline_colour: ColourField = Colour(0, 0, 0)
    outline: float = Field(default=0, ge=0, le=20)
    shadow_colour: ColourField = Colour(0, 0, 0, 128)
    shadow: float = Field(default=0, ge=0, le=20)
    margin_bottom: int = Field(ge=0, le=1100)  # from the frame's bottom edge to the line's bottom
    margin_x: int = Field(default=40, ge=0, le=300)  # kept clear on the left and on the right
    max_words: int = Field(ge=1, le=12)  # per line
    max_chars: int = Field(ge=4, le=80)  # per line, spaces included

    @field_validator("font")
    @classmethod
    def _font(cls, value: str) -> str:
        if _BAD_FONT_CHARS.search(value) or value != value.strip():
            raise ValueError("must be a font family name without commas, control characters or outer spaces")
        return value

    @field_validator("highlight_mode")
    @classmethod
    def _karaoke_needs_highlight(cls, value: str, info: ValidationInfo) -> str:
        if value == "karaoke" and info.data.get("highlight") is None and "highlight" in info.data:
            raise ValueError("karaoke needs a highlight colour to sweep in")
        return value

    @field_validator("outline")
    @classmethod
    def _box_or_outline(cls, value: float, info: ValidationInfo) -> float:
        if value and info.data.get("box") is not None:
            raise ValueError("must be 0 when the style has a box (the box takes the outline's place)")
        return value


def _style_name(value: str) -> str:
    if not STYLE_NAME.match(value):
        raise ValueError(
            f"style name {value!r} must be lower-case letters, digits and _, starting with a letter, "
            "at most 24 characters"
        )
    return value


StyleName = Annotated[str, AfterValidator(_style_name)]


class CaptionStyles(BaseModel):
    """The named styles of ``catalog/captions.yaml`` and the one used when none is chosen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    styles: dict[StyleName, CaptionStyle] = Field(min_length=1)
    default: str

    @field_validator("default")
    @classmethod
    def _default_exists(cls, value: str, info: ValidationInfo) -> str:
        styles = info.data.get("styles")
        if styles is not None and value not in styles:
            raise ValueError(f"no style named {value!r} (styles: {', '.join(styles)})")
        return value

    @property
    def names(self) -> tuple[str, ...]:
        """Style names in file order (the order a picker shows them in)."""
        return tuple(self.styles)

    def style(self, name: str | None = None) -> CaptionStyle:
        """The style called ``name``; the default one for None or a name no longer in the file."""
        if name is not None and name in self.styles:
            return self.styles[name]
        return self.styles[self.default]


def load_caption_styles(path: Path) -> CaptionStyles:
    """``path`` parsed and validated; :class:`CaptionStyleError` naming file, style, field and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaptionStyleError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CaptionStyleError(f"{path}: not valid YAML: {exc}") from None
    try:
        return CaptionStyles.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{path}: {_dotted(error['loc'])}: {_message(error)} (line {_line_of(root, error['loc'])})"
            for error in exc.errors()
        ]
        raise CaptionStyleError("\n".join(problems)) from None


def _dotted(loc: Sequence[int | str]) -> str:
    # pydantic marks a failed mapping key with a "[key]" step; the key itself already names the place.
    return ".".join(str(part) for part in loc if part != "[key]") or "top level"


_PLAIN_MESSAGES = {
    "missing": "is required",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
}


def _message(error: ErrorDetails) -> str:
    kind, loc, ctx = error["type"], error["loc"], error.get("ctx") or {}
    bounds = _bounds(str(loc[-1])) if loc and kind in {"greater_than_equal", "less_than_equal"} else None
    if kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
    elif kind == "extra_forbidden":
        known = CaptionStyle.model_fields if len(loc) == 3 else CaptionStyles.model_fields
        message = f"unknown field (known: {', '.join(known)})"
    elif kind == "model_type" and not loc:
        message = "the file must be a mapping with default: and styles:"
    elif kind == "too_short" and tuple(loc) == ("styles",):
        message = "needs at least one style"
    elif bounds is not None:
        message = f"must be between {bounds[0]} and {bounds[1]}"
    else:
        message = _PLAIN_MESSAGES.get(kind, error["msg"][:1].lower() + error["msg"][1:])
    return message


def _bounds(field: str) -> tuple[object, object] | None:
    info = CaptionStyle.model_fields.get(field)
    if info is None:
        return None
    low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    return (low, high) if low is not None and high is not None else None


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int:
    """Line (1-based) of the deepest key the error location reaches."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        found = next(((key, value) for key, value in node.value if key.value == part), None)
        if found is None:
            break
        line, node = found[0].start_mark.line + 1, found[1]
    return line
