"""Word timings from ElevenLabs' character alignment: the words of the script, in order, never running
backwards — whatever the provider sends (mismatched arrays, negative, unsorted or missing times)."""

from __future__ import annotations

import itertools
import math

from hypothesis import given
from hypothesis import strategies as st

from app.services.providers import WordTiming
from app.services.speech.alignment import words_from_alignment


def spread(text: str, step: float = 0.1) -> tuple[list[str], list[float], list[float]]:
    """An alignment giving each character ``step`` seconds, as ElevenLabs' would look."""
    return list(text), [i * step for i in range(len(text))], [(i + 1) * step for i in range(len(text))]


def test_each_word_spans_its_first_letter_start_to_its_last_letter_end() -> None:
    chars = list("Hi there")
    starts = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    ends = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]

    words = words_from_alignment(chars, starts, ends)

    assert words == (WordTiming("Hi", 0.0, 0.2), WordTiming("there", 0.3, 0.8))


def test_punctuation_stays_with_its_word_and_any_whitespace_splits() -> None:
    text = "  Привет,\tмир!\n\nКрем — хит.  "

    words = words_from_alignment(*spread(text))

    assert [w.word for w in words] == ["Привет,", "мир!", "Крем", "—", "хит."]


def test_nothing_to_align_gives_no_words() -> None:
    assert words_from_alignment([], [], []) == ()
    assert words_from_alignment(list("   "), [0, 1, 2], [1, 2, 3]) == ()


def test_letters_without_times_keep_their_word_at_the_last_known_time() -> None:
    words = words_from_alignment(list("ab cd"), [0.0, 0.1, 0.2], [0.1, 0.2, 0.3])

    assert [w.word for w in words] == ["ab", "cd"]
    assert words[1].start == words[1].end == 0.2


def test_times_without_letters_are_ignored() -> None:
    chars, starts, ends = spread("ok")

    assert words_from_alignment(chars, [*starts, 5.0, 6.0], [*ends, 5.5, 6.5]) == (
        WordTiming("ok", 0.0, 0.2),
    )


def test_negative_nan_and_backward_times_are_clamped_forward() -> None:
    chars = list("ab cd ef")
    starts = [0.5, -1.0, 0.6, math.nan, 0.2, 0.9, math.inf, 1.0]
    ends = [0.6, 0.7, 0.7, "x", 0.3, 1.0, 1.1, -2.0]

    words = words_from_alignment(chars, starts, ends)

    assert [w.word for w in words] == ["ab", "cd", "ef"]
    assert words[0] == WordTiming("ab", 0.5, 0.7)
    for earlier, later in itertools.pairwise(words):
        assert earlier.end <= later.start
    assert all(w.start <= w.end for w in words)


def test_multi_character_elements_and_numbers_as_strings_are_read() -> None:
    words = words_from_alignment(["He", "llo ", "you"], ["0", "0.2", "0.5"], ["0.2", "0.5", "0.9"])

    assert words == (WordTiming("Hello", 0.0, 0.5), WordTiming("you", 0.5, 0.9))


def test_a_duration_bounds_every_time() -> None:
    chars, starts, ends = spread("one two three", step=1.0)

    words = words_from_alignment(chars, starts, ends, duration=5.0)

    assert [w.word for w in words] == ["one", "two", "three"]
    assert words[-1].end == 5.0
    assert all(0 <= w.start <= w.end <= 5.0 for w in words)


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_a_complete_alignment_gives_exactly_the_words_of_the_script(text: str) -> None:
    words = words_from_alignment(*spread(text, step=0.05))

    assert [w.word for w in words] == text.split()


times = st.lists(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-10, max_value=10**6),
        st.none(),
        st.text(max_size=4),
    ),
    max_size=60,
)


@given(
    st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=60),
    times,
    times,
    st.one_of(st.none(), st.floats(min_value=0, max_value=1e4)),
)
def test_any_alignment_gives_ordered_non_negative_times(
    chars: list[object], starts: list[object], ends: list[object], duration: float | None
) -> None:
    words = words_from_alignment(chars, starts, ends, duration=duration)

    previous_end = 0.0
    for word in words:
        assert word.word and not any(c.isspace() for c in word.word)
        assert math.isfinite(word.start) and math.isfinite(word.end)
        assert previous_end <= word.start <= word.end
        if duration is not None:
            assert word.end <= duration
        previous_end = word.end
    assert [w.word for w in words] == "".join(map(str, chars)).split()
