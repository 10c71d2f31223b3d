"""Word-timed captions burned into the finished video: styles from ``catalog/captions.yaml``, ASS, ffmpeg."""

from app.services.captions.ass import CaptionLine, CaptionWord, build_ass, caption_lines, escape_text
from app.services.captions.burn import CaptionBurner
from app.services.captions.style import (
    CaptionStyle,
    CaptionStyleError,
    CaptionStyles,
    Colour,
    load_caption_styles,
)

__all__ = [
    "CaptionBurner",
    "CaptionLine",
    "CaptionStyle",
    "CaptionStyleError",
    "CaptionStyles",
    "CaptionWord",
    "Colour",
    "build_ass",
    "caption_lines",
    "escape_text",
    "load_caption_styles",
]
