"""Word timings turned into an ASS subtitle document (rendered by libass through ffmpeg).

Words are grouped into short lines; a line is on screen from its first word's start to its last word's
end (at least :data:`MIN_SHOWN`), never overlapping the next one, and short gaps between lines are closed
so captions do not flicker.
With a highlight colour, the word being spoken is coloured: one event per word ("word"), or one event per
line whose colour sweeps through each word as it is spoken (ASS karaoke, "karaoke"). Times are kept in
centiseconds, ASS's own resolution, so rounding can never make two events overlap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from app.services.captions.style import CaptionStyle, Colour
from app.services.providers import WordTiming

BASE_WIDTH, BASE_HEIGHT = 720, 1280  # the frame the style's pixel values are written for
# A silence longer than this ends a line: a caption never hangs over a pause in the speech. Gaps up to it
# between two lines are closed, so the next line replaces the previous one without a blank frame.
PAUSE = 60  # centiseconds
# A line is on screen at least this long (while the next one does not need the place), so a word the
# provider timed as a blip can still be read.
MIN_SHOWN = 40  # centiseconds
MIN_WORD = 20  # the last word of a line, for its highlight to be seen
_SENTENCE_END = re.compile(r"[.!?…]['\"»”’)\]]*$")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
# libass reads "\N", "\n", "\h" and "\{" after a backslash; a word joiner after it leaves a plain backslash.
_WORD_JOINER = "\u2060"
STYLE_NAME = "Caption"


@dataclass(frozen=True, slots=True)
class CaptionWord:
    text: str  # as shown: whitespace collapsed, upper-cased when the style says so
    start: int  # centiseconds
    end: int


@dataclass(frozen=True, slots=True)
class CaptionLine:
    words: tuple[CaptionWord, ...]
    start: int  # centiseconds: when the line appears
    end: int  # when it goes (the next line's start when the gap was short)

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


def build_ass(
    words: Sequence[WordTiming], style: CaptionStyle, *, width: int = BASE_WIDTH, height: int = BASE_HEIGHT
) -> str:
    """The ASS document showing ``words`` in ``style`` on a ``width``×``height`` video."""
    events = [
        f"Dialogue: 0,{_time(start)},{_time(end)},{STYLE_NAME},,0,0,0,,{text}"
        for line in caption_lines(words, style)
        for start, end, text in _events(line, style)
    ]
    return "\n".join([*_header(style, width, height), *events]) + "\n"


def caption_lines(words: Sequence[WordTiming], style: CaptionStyle) -> tuple[CaptionLine, ...]:
    """``words`` grouped into timed lines as :func:`build_ass` shows them."""
    timed = [word for word in words if math.isfinite(word.start) and math.isfinite(word.end)]
    cleaned = [_caption_word(word, style) for word in sorted(timed, key=lambda w: w.start)]
    groups = [line for run in _runs([w for w in cleaned if w.text]) for line in _split_run(run, style)]
    lines: list[CaptionLine] = []
    for index, group in enumerate(groups):
        start = group[0].start
        end = max(start + MIN_SHOWN, group[-1].start + MIN_WORD, *(word.end for word in group))
        if index + 1 < len(groups):
            following = groups[index + 1][0].start
            if following - end <= PAUSE:  # also pulls back an end that overlaps the next line
                end = following
        if end > start:
            lines.append(CaptionLine(words=tuple(group), start=start, end=end))
    return tuple(lines)


def escape_text(text: str) -> str:
    """``text`` as literal ASS dialogue text: no override blocks, no line breaks, no hard spaces."""
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text))
    text = text.replace("\\", "\\" + _WORD_JOINER)
    return text.replace("{", "\\{").replace("}", "\\}")


def _caption_word(word: WordTiming, style: CaptionStyle) -> CaptionWord:
    text = _SPACES.sub(" ", _CONTROL.sub(" ", word.word)).strip()
    start = max(0, round(word.start * 100))
    return CaptionWord(
        text=text.upper() if style.uppercase else text, start=start, end=max(start, round(word.end * 100))
    )


def _runs(words: Sequence[CaptionWord]) -> Iterator[list[CaptionWord]]:
    """Words between pauses and sentence ends: no line is allowed to span either."""
    run: list[CaptionWord] = []
    for word in words:
        if run and (word.start - run[-1].end > PAUSE or _SENTENCE_END.search(run[-1].text)):
            yield run
            run = []
        run.append(word)
    if run:
        yield run


def _split_run(run: list[CaptionWord], style: CaptionStyle) -> list[list[CaptionWord]]:
    """The run as few lines as the limits allow, balanced so no line is left with a lone word."""
    greedy: list[list[CaptionWord]] = []
    for word in run:
        if greedy and _fits([*greedy[-1], word], style):
            greedy[-1].append(word)
        else:
            greedy.append([word])
    count = len(greedy)
    if count < 2:
        return greedy
    size, extra = divmod(len(run), count)
    balanced: list[list[CaptionWord]] = []
    position = 0
    for index in range(count):
        take = size + (1 if index < extra else 0)
        balanced.append(run[position : position + take])
        position += take
    return balanced if all(_fits(line, style) for line in balanced) else greedy


def _fits(line: Sequence[CaptionWord], style: CaptionStyle) -> bool:
    return len(line) <= style.max_words and len(" ".join(w.text for w in line)) <= style.max_chars


def _events(line: CaptionLine, style: CaptionStyle) -> Iterator[tuple[int, int, str]]:
    texts = [escape_text(word.text) for word in line.words]
    highlight = style.highlight
    if highlight is None:
        yield line.start, line.end, " ".join(texts)
    elif style.highlight_mode == "karaoke":
        yield line.start, line.end, _karaoke_text(line, texts, highlight, style.colour)
    else:
        on = f"{{\\1c{highlight.ass_bgr}\\1a{highlight.ass_alpha}}}"
        for index, word in enumerate(line.words):
            start = line.start if index == 0 else word.start
            end = line.words[index + 1].start if index + 1 < len(line.words) else line.end
            end = min(end, line.end)
            if end > start:
                shown = [f"{on}{text}{{\\r}}" if i == index else text for i, text in enumerate(texts)]
                yield start, end, " ".join(shown)


def _karaoke_text(line: CaptionLine, texts: Sequence[str], highlight: Colour, colour: Colour) -> str:
    # \kf sweeps from the secondary colour (not yet spoken) to the primary one (spoken) over its duration.
    parts = [
        f"{{\\1c{highlight.ass_bgr}\\1a{highlight.ass_alpha}\\2c{colour.ass_bgr}\\2a{colour.ass_alpha}}}"
    ]
    cursor = line.start
    for index, (word, text) in enumerate(zip(line.words, texts, strict=True)):
        start = min(max(word.start, cursor), line.end)
        end = min(max(word.end, start), line.end)
        if index or start > cursor:
            parts.append(f"{{\\k{start - cursor}}}{' ' if index else ''}")
        parts.append(f"{{\\kf{end - start}}}{text}")
        cursor = end
    return "".join(parts)


def _header(style: CaptionStyle, width: int, height: int) -> list[str]:
    scale = min(width / BASE_WIDTH, height / BASE_HEIGHT)
    if style.box is not None:  # BorderStyle 3: an opaque box in the outline colour, padded by "Outline"
        border_style, outline_colour, outline = 3, style.box, float(style.box_padding)
    else:
        border_style, outline_colour, outline = 1, style.outline_colour, style.outline
    secondary = style.highlight or style.colour
    fields = [
        STYLE_NAME, style.font, str(round(style.size * scale)),
        style.colour.ass_style, secondary.ass_style, outline_colour.ass_style, style.shadow_colour.ass_style,
        "-1" if style.bold else "0", "0", "0", "0", "100", "100", "0", "0",
        str(border_style), _number(outline * scale), _number(style.shadow * scale),
        "2",  # bottom centre
        str(round(style.margin_x * width / BASE_WIDTH)), str(round(style.margin_x * width / BASE_WIDTH)),
        str(round(style.margin_bottom * height / BASE_HEIGHT)), "1",
    ]  # fmt: skip
    return [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",  # lines are short already; a too-long one wraps instead of leaving the frame
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
        "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        "Style: " + ",".join(fields),
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _time(centiseconds: int) -> str:
    seconds, cs = divmod(centiseconds, 100)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{cs:02d}"
