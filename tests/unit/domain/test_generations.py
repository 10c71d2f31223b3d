"""Drafts and the generation life cycle: what a change makes stale, what survives a restart, who settles."""

from __future__ import annotations

import json

import pytest

from app.domain.generations import (
    Draft,
    DraftDataError,
    GenerationStateError,
    GenerationStatus,
    page_bounds,
    settles,
)

DONE, FAILED = GenerationStatus.DONE, GenerationStatus.FAILED


def full_draft() -> Draft:
    return (
        Draft.new(7, "ru", draft_id="d" * 32)
        .with_format("background")
        .with_background("tmp/7/bg.mp4")
        .with_character("anna")
        .with_edited_image("tmp/7/look-1.jpg")
        .with_voice("ru_female_1")
        .with_script("Привет! Это <b>реклама</b>.")
        .with_speech(speech_key="tmp/7/s.wav", speech_ogg_key="tmp/7/s.ogg", speech_seconds=7.25)
    )


def test_a_new_draft_has_a_fresh_id_and_asks_for_everything() -> None:
    first, second = Draft.new(7, "ru"), Draft.new(7, "ru")
    assert first.draft_id != second.draft_id and len(first.draft_id) == 32
    assert first.missing() == ("format", "character_id", "voice_id", "script", "speech_key", "speech_seconds")
    assert not first.ready


def test_a_complete_draft_is_ready_and_the_background_is_needed_only_for_its_format() -> None:
    draft = full_draft()
    assert draft.ready
    assert draft.with_background(None).missing() == ("background_key",)
    talking = draft.with_format("talking_head")
    assert talking.ready and talking.background_key is None


def test_new_voice_or_script_drops_the_speech_made_for_the_old_one() -> None:
    draft = full_draft()
    for changed in (draft.with_voice("ru_male_1"), draft.with_script("Другой текст")):
        assert (changed.speech_key, changed.speech_ogg_key, changed.speech_seconds) == (None, None, None)
        assert changed.missing() == ("speech_key", "speech_seconds")
    assert draft.with_voice("ru_female_1") is draft
    assert draft.with_script(draft.script or "") is draft


def test_a_new_character_drops_the_edited_look_of_the_old_one() -> None:
    draft = full_draft()
    assert draft.with_character("boris").edited_image_key is None
    assert draft.with_character("anna").edited_image_key == "tmp/7/look-1.jpg"
    assert draft.with_edited_image(None).ready


def test_same_setup_new_text_keeps_the_choices_under_a_new_id() -> None:
    draft = full_draft()
    again = draft.again()
    assert again.draft_id != draft.draft_id
    assert (again.format, again.character_id, again.edited_image_key, again.voice_id) == (
        "background",
        "anna",
        "tmp/7/look-1.jpg",
        "ru_female_1",
    )
    assert again.missing() == ("script", "speech_key", "speech_seconds")


def test_a_whitespace_script_is_still_missing() -> None:
    assert "script" in full_draft().with_script("  \n ").missing()


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("nan")])
def test_speech_must_last_some_time(seconds: float) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        full_draft().with_speech(speech_key="k", speech_ogg_key=None, speech_seconds=seconds)


def test_a_draft_survives_a_round_trip_through_json_as_dialog_data_does() -> None:
    draft = full_draft()
    stored = json.loads(json.dumps(draft.to_data()))
    assert Draft.from_data(stored) == draft
    assert Draft.from_data({"user_id": 7, "draft_id": "x", "speech_seconds": 5, "future_field": 1}) == Draft(
        user_id=7, draft_id="x", speech_seconds=5.0
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"draft_id": "x"}, "lacks user_id"),
        ({"user_id": "7", "draft_id": "x"}, "user_id has a str"),
        ({"user_id": True, "draft_id": "x"}, "user_id has a bool"),
        ({"user_id": 7, "draft_id": "x", "format": "slideshow"}, "unknown video format"),
        ({"user_id": 7, "draft_id": "x", "speech_seconds": "5"}, "speech_seconds has a str"),
    ],
)
def test_stored_data_that_is_no_draft_is_refused(data: dict[str, object], problem: str) -> None:
    with pytest.raises(DraftDataError, match=problem):
        Draft.from_data(data)


@pytest.mark.parametrize(
    ("total", "page", "size", "expected"),
    [
        (0, 0, 5, (0, 1)),
        (0, 3, 5, (0, 1)),
        (5, 0, 5, (0, 1)),
        (6, 1, 5, (1, 2)),
        (6, 9, 5, (1, 2)),
        (6, -4, 5, (0, 2)),
        (11, 2, 5, (2, 3)),
    ],
)
def test_pages_are_clamped_into_range(total: int, page: int, size: int, expected: tuple[int, int]) -> None:
    assert page_bounds(total, page, size) == expected


def test_capture_and_release_exclude_each_other_and_repeat_harmlessly() -> None:
    for active in (GenerationStatus.QUEUED, GenerationStatus.RUNNING):
        assert settles(1, active, DONE) and settles(1, active, FAILED)
    assert not settles(1, DONE, DONE)
    assert not settles(1, FAILED, FAILED)
    with pytest.raises(GenerationStateError, match="is failed: cannot capture"):
        settles(1, FAILED, DONE)
    with pytest.raises(GenerationStateError, match="is done: cannot release"):
        settles(1, DONE, FAILED)
    with pytest.raises(GenerationStateError):
        settles(1, GenerationStatus.DELETED, DONE)
