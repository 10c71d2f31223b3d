"""What espeak-ng is given to say, and the estimated word timings a subtitle step can use."""

from __future__ import annotations

import itertools

import pytest

from app.services.speech.local import espeak_input, estimate_word_timings


def test_phoneme_brackets_are_broken_so_they_are_spoken_as_brackets() -> None:
    assert "[[" not in espeak_input("say [[h@l'oU]] and [[[x")


def test_html_quotes_dashes_and_lines_reach_espeak_unchanged() -> None:
    text = '--help <b>"Hi"</b>\n-v it\'s'

    assert espeak_input(text) == text + "\n"


def test_control_characters_become_spaces() -> None:
    assert espeak_input("a\x00b\x1bc\r\nd") == "a b c\nd\n"


def test_word_times_cover_the_whole_take_in_order() -> None:
    words = estimate_word_timings("Hello dear world", 3.0)

    assert [w.word for w in words] == ["Hello", "dear", "world"]
    assert words[0].start == 0.0
    assert words[-1].end == 3.0
    assert all(a.end == b.start for a, b in itertools.pairwise(words))


def test_longer_words_get_more_time() -> None:
    short, long_ = estimate_word_timings("a extraordinary", 2.0)

    assert long_.end - long_.start == pytest.approx(2.0 * 13 / 14)
    assert short.end - short.start == pytest.approx(2.0 / 14)


def test_punctuation_only_words_still_get_a_moment() -> None:
    words = estimate_word_timings("wait — what", 1.0)

    assert words[1].end > words[1].start
