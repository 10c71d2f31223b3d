"""Prices a user sees: a quote part by part, started 5-second units, estimates and the script limit."""

from __future__ import annotations

import math

import pytest

from app.domain.pricing import Pricing, Quote, script_chars, started_units


def pricing(**changes: object) -> Pricing:
    values: dict[str, object] = {
        "look_edit": 2,
        "speech": 3,
        "video_per_5s": 5,
        "background_surcharge": 7,
        "welcome_bonus": 50,
        "max_video_seconds": 30,
        "max_look_edits": 3,
        "max_active_generations": 2,
        "chars_per_second": {"ru": 13, "en": 15},
    }
    values.update(changes)
    return Pricing(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "units"),
    [
        (0.0, 1),
        (0.3, 1),
        (4.99, 1),
        (5.0, 1),
        (5.0004, 1),  # below a millisecond: measurement noise of a 5.000 s take
        (5.001, 2),
        (5.01, 2),
        (9.999, 2),
        (10.0, 2),
        (10.01, 3),
        (29.99, 6),
        (30.0, 6),
        (30.2, 7),
    ],
)
def test_video_is_billed_per_started_five_seconds_of_speech(seconds: float, units: int) -> None:
    assert started_units(seconds) == units


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_a_duration_that_is_not_a_length_of_time_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="finite number of seconds"):
        started_units(bad)


def test_a_talking_head_quote_is_speech_plus_video_units() -> None:
    assert pricing().quote("talking_head", 12.4) == Quote(speech=3, video=15, background=0, total=18, units=3)


def test_a_background_video_adds_the_surcharge() -> None:
    assert pricing().quote("background", 5.0) == Quote(speech=3, video=5, background=7, total=15, units=1)
    assert pricing().quote("background", 5.01).total == 20


def test_an_unknown_format_has_no_price() -> None:
    with pytest.raises(ValueError, match="unknown video format"):
        pricing().quote("slideshow", 5.0)  # type: ignore[arg-type]


def test_speech_fits_up_to_the_longest_video_to_the_millisecond() -> None:
    p = pricing()
    assert p.fits(30.0) and p.fits(30.0004)
    assert not p.fits(30.001)


def test_a_script_is_estimated_from_its_language_speaking_rate() -> None:
    p = pricing()
    assert p.estimate_seconds("а" * 130, "ru") == 10.0
    assert p.estimate_seconds("a" * 150, "en") == 10.0
    # Line breaks and double spaces are not read aloud.
    assert p.estimate_seconds("  one\n\ntwo   three ", "en") == len("one two three") / 15
    assert p.estimate("talking_head", "а" * 131, "ru").units == 3


def test_an_unknown_language_is_estimated_at_the_slowest_rate_we_know() -> None:
    assert pricing().estimate_seconds("x" * 26, "de") == 2.0


def test_the_script_limit_follows_from_the_longest_video() -> None:
    p = pricing()
    assert p.max_script_chars("ru") == 390
    assert p.max_script_chars("en") == 450
    assert pricing(chars_per_second={"ru": 14.1}).max_script_chars("ru") == 423
    assert pricing(max_video_seconds=15).max_script_chars("en") == 225


def test_script_characters_count_whitespace_runs_once() -> None:
    assert script_chars("  Привет,\n\n  мир!  ") == len("Привет, мир!")
    assert script_chars(" \n ") == 0


def test_pricing_is_read_only_once_built() -> None:
    rates = {"ru": 13.0}
    p = pricing(chars_per_second=rates)
    rates["ru"] = 1.0
    assert p.rate("ru") == 13.0
    with pytest.raises(TypeError):
        p.chars_per_second["ru"] = 2.0  # type: ignore[index]
