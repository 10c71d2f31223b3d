"""The ASS document: which words share a line, when each line and highlight is on screen, literal text."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.services.captions import CaptionStyle, build_ass, caption_lines, escape_text
from app.services.providers import WordTiming

YELLOW = "#FFE135"
# An override block libass acts on: a "{" not escaped by a backslash, up to the next "}".
OVERRIDE = re.compile(r"(?<!\\)\{[^}]*\}")


def style(**changes: Any) -> CaptionStyle:
    fields: dict[str, Any] = {
        "font": "DejaVu Sans",
        "size": 60,
        "colour": "#FFFFFF",
        "outline": 4,
        "margin_bottom": 330,
        "max_words": 3,
        "max_chars": 20,
    }
    return CaptionStyle.model_validate(fields | changes)


def spoken(*words: str, start: float = 0.0, each: float = 0.3) -> list[WordTiming]:
    """Words spoken one after another without pauses, ``each`` seconds long."""
    return [WordTiming(w, start + i * each, start + (i + 1) * each) for i, w in enumerate(words)]


@dataclass(frozen=True)
class Event:
    start: int  # centiseconds
    end: int
    text: str  # raw ASS text

    @property
    def visible(self) -> str:
        """What libass draws: override blocks removed, escapes undone."""
        text = OVERRIDE.sub("", self.text)
        return text.replace("\\{", "{").replace("\\}", "}").replace("\\\u2060", "\\")

    @property
    def highlighted(self) -> str | None:
        """The word drawn in another colour, as the override block before it says."""
        match = re.search(r"\{\\1c&H[0-9A-F]{6}&\\1a&H[0-9A-F]{2}&\}(.*?)\{\\r\}", self.text)
        return match.group(1) if match else None


def centiseconds(stamp: str) -> int:
    hours, minutes, rest = stamp.split(":")
    seconds, cs = rest.split(".")
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 100 + int(cs)


def events(document: str) -> list[Event]:
    found = []
    for line in document.splitlines():
        if line.startswith("Dialogue: "):
            _, start, end, _, _, _, _, _, _, text = line.removeprefix("Dialogue: ").split(",", 9)
            found.append(Event(centiseconds(start), centiseconds(end), text))
    return found


def style_line(document: str) -> dict[str, str]:
    names = next(line for line in document.splitlines() if line.startswith("Format: Name"))
    values = next(line for line in document.splitlines() if line.startswith("Style: "))
    keys = [k.strip() for k in names.removeprefix("Format: ").split(",")]
    return dict(zip(keys, values.removeprefix("Style: ").split(","), strict=True))


def test_no_words_give_a_valid_document_without_events() -> None:
    document = build_ass([], style())

    assert document.startswith("[Script Info]\n")
    for section in ("[V4+ Styles]", "[Events]", "PlayResX: 720", "PlayResY: 1280"):
        assert section in document
    assert events(document) == []
    assert style_line(document)["Fontname"] == "DejaVu Sans"


def test_lines_hold_at_most_max_words_and_are_balanced() -> None:
    words = spoken("one", "two", "three", "four")

    lines = caption_lines(words, style(max_words=3))

    assert [line.text for line in lines] == ["one two", "three four"]  # not "one two three" + "four"


def test_lines_hold_at_most_max_chars_and_a_longer_word_stands_alone() -> None:
    words = spoken("aaaa", "bbbb", "cccc", "extraordinarily", "dd")

    lines = caption_lines(words, style(max_words=5, max_chars=10))

    assert [line.text for line in lines] == ["aaaa bbbb", "cccc", "extraordinarily", "dd"]
    assert all(len(line.text) <= 10 for line in lines if " " in line.text)


def test_a_pause_ends_the_line_and_leaves_the_screen_empty_until_the_next_word() -> None:
    words = [*spoken("before", "the"), *spoken("pause", "here", start=1.4)]  # 0.8 s of silence at 0.6 s

    lines = caption_lines(words, style(max_words=4))

    assert [(line.text, line.start, line.end) for line in lines] == [
        ("before the", 0, 60),
        ("pause here", 140, 200),
    ]


def test_a_short_gap_between_lines_is_closed_so_captions_do_not_flicker() -> None:
    words = [*spoken("one", "two"), *spoken("three", start=0.9)]  # 0.3 s gap after "two"

    first, second = caption_lines(words, style(max_words=2))

    assert (first.end, second.start) == (90, 90)


def test_a_sentence_end_starts_a_new_line() -> None:
    lines = caption_lines(spoken("Buy it.", "Now!", "Really"), style(max_words=3))

    assert [line.text for line in lines] == ["Buy it.", "Now!", "Really"]


def test_overlapping_word_times_never_make_lines_overlap() -> None:
    words = [WordTiming("a", 0.0, 1.0), WordTiming("b", 0.2, 0.5), WordTiming("c", 0.4, 2.0)]

    found = events(build_ass(words, style(max_words=1)))

    assert [e.visible for e in found] == ["a", "b", "c"]
    assert all(e.end > e.start for e in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_a_blip_of_a_word_stays_long_enough_to_read_unless_the_next_line_needs_the_place() -> None:
    words = [WordTiming("Hi!", 0.0, 0.05), WordTiming("Look", 2.0, 2.05), WordTiming("here", 2.2, 2.5)]

    lines = caption_lines(words, style(max_words=1))

    assert [(line.start, line.end) for line in lines] == [(0, 40), (200, 220), (220, 260)]


def test_words_come_sorted_by_time_and_blank_or_untimed_ones_are_dropped() -> None:
    words = [
        WordTiming("second", 0.5, 0.9),
        WordTiming("  \n", 0.3, 0.4),
        WordTiming("first", 0.0, 0.4),
        WordTiming("lost", float("nan"), 1.0),
    ]

    assert [line.text for line in caption_lines(words, style())] == ["first second"]


def test_the_word_being_spoken_is_highlighted_for_exactly_its_turn() -> None:
    words = [WordTiming("Привет", 0.5, 1.0), WordTiming("дорогой", 1.1, 1.6), WordTiming("мир", 1.6, 2.0)]

    found = events(build_ass(words, style(highlight=YELLOW, uppercase=True)))

    assert [(e.start, e.end, e.highlighted) for e in found] == [
        (50, 110, "ПРИВЕТ"),
        (110, 160, "ДОРОГОЙ"),
        (160, 200, "МИР"),
    ]
    assert {e.visible for e in found} == {"ПРИВЕТ ДОРОГОЙ МИР"}
    assert "\\1c&H35E1FF&" in found[0].text  # #FFE135 in ASS's blue-green-red order


def test_without_a_highlight_each_line_is_one_event_without_colour_tags() -> None:
    found = events(build_ass(spoken("a", "b", "c", "d"), style(max_words=2)))

    assert [(e.start, e.end, e.visible) for e in found] == [(0, 60, "a b"), (60, 120, "c d")]
    assert not any(OVERRIDE.search(e.text) for e in found)


def test_karaoke_sweeps_each_word_over_its_own_time_in_one_event_per_line() -> None:
    words = [WordTiming("one", 1.0, 1.4), WordTiming("two", 1.6, 1.9)]

    (event,) = events(build_ass(words, style(highlight=YELLOW, highlight_mode="karaoke")))

    assert (event.start, event.end, event.visible) == (100, 190, "one two")
    durations = [(tag, int(cs)) for tag, cs in re.findall(r"\\(kf|k)(\d+)", event.text)]
    assert durations == [("kf", 40), ("k", 20), ("kf", 30)]  # "two" starts sweeping 0.6 s into the line
    assert "\\1c&H35E1FF&" in event.text and "\\2c&HFFFFFF&" in event.text  # sweeps white → yellow


def test_user_text_never_becomes_override_tags_or_line_breaks() -> None:
    words = spoken("{\\an8}top", "a}b", "line\\Nbreak", "two\nlines", "back\\", "\\h")

    found = events(build_ass(words, style(max_words=1, max_chars=40, highlight=YELLOW)))

    assert [e.visible for e in found] == ["{\\an8}top", "a}b", "line\\Nbreak", "two lines", "back\\", "\\h"]
    for event in found:  # the only override blocks left are the highlight's own
        assert all(block.startswith(("{\\1c", "{\\r")) for block in OVERRIDE.findall(event.text))
        assert not re.search(r"\\[Nnh]", event.text.replace("\\\u2060", ""))


def test_escaping_keeps_cyrillic_and_upper_cases_it_when_the_style_says_so() -> None:
    assert escape_text("Съешь {ещё}") == "Съешь \\{ещё\\}"
    (event,) = events(build_ass(spoken("съешь", "ещё"), style(uppercase=True)))
    assert event.visible == "СЪЕШЬ ЕЩЁ"


def test_sizes_are_scaled_to_the_video_and_a_box_style_draws_a_box() -> None:
    boxed = style(box="#00000080", box_padding=10, outline=0, size=40, margin_bottom=200)

    fields = style_line(build_ass([], boxed, width=1080, height=1920))

    assert (fields["Fontsize"], fields["MarginV"], fields["MarginL"]) == ("60", "300", "60")
    assert (fields["BorderStyle"], fields["Outline"]) == ("3", "15")  # libass pads the box by "Outline"
    assert fields["OutlineColour"] == "&H7F000000"  # the box: black, half transparent
    assert "PlayResX: 1080\nPlayResY: 1920" in build_ass([], boxed, width=1080, height=1920)


TEXTS = st.text(alphabet="аб{}\\ \nxY.", min_size=0, max_size=8)
any_words = st.lists(
    st.tuples(TEXTS, st.floats(0, 30, allow_nan=False), st.floats(0, 2, allow_nan=False)), max_size=25
).map(lambda items: [WordTiming(text, start, start + length) for text, start, length in items])
# Words as a speech provider reports them: in order, each starting at least 20 ms after the previous one.
ordered_words = st.lists(
    st.tuples(TEXTS, st.floats(0.02, 1.5, allow_nan=False), st.floats(0, 1.5, allow_nan=False)), max_size=25
).map(
    lambda items: [
        WordTiming(
            text, sum(gap for _, gap, _ in items[: i + 1]), sum(gap for _, gap, _ in items[: i + 1]) + length
        )
        for i, (text, _, length) in enumerate(items)
    ]
)


def karaoke_or_word(max_words: int, karaoke: bool) -> CaptionStyle:
    mode = "karaoke" if karaoke else "word"
    return style(max_words=max_words, max_chars=12, highlight=YELLOW, highlight_mode=mode)


@given(words=any_words, max_words=st.integers(1, 5), karaoke=st.booleans())
def test_any_word_times_give_ordered_non_overlapping_single_line_events(
    words: list[WordTiming], max_words: int, karaoke: bool
) -> None:
    chosen = karaoke_or_word(max_words, karaoke)

    lines = caption_lines(words, chosen)
    document = build_ass(words, chosen)
    found = events(document)

    assert all(a.end <= b.start for a, b in itertools.pairwise(lines))
    assert all(e.start < e.end for e in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    for line in lines:
        assert len(line.words) <= max_words
        assert len(line.text) <= 12 or len(line.words) == 1
    after_format = document.split("Format: Layer")[1].splitlines()[1:]
    assert all(line.startswith("Dialogue: ") for line in after_format)  # no word broke the file's lines


@given(words=ordered_words, max_words=st.integers(1, 5), karaoke=st.booleans())
def test_words_in_order_are_each_shown_once_in_order(
    words: list[WordTiming], max_words: int, karaoke: bool
) -> None:
    lines = caption_lines(words, karaoke_or_word(max_words, karaoke))

    shown = [w.text for line in lines for w in line.words]
    assert shown == [" ".join(w.word.split()) for w in words if w.word.strip()]
    for line in lines:
        assert line.words[0].start == line.start
        assert line.end > line.words[-1].start
