"""Reading a look-edit prompt (ru and en): what the local editor will do, and what it admits it cannot."""

from __future__ import annotations

import pytest

from app.services.image.local import CHROMA_GREEN, EditPlan, edit_note, plan_edit


@pytest.mark.parametrize(
    ("prompt", "done"),
    [
        ("make it warmer and brighter", ("warmer colour tone", "brighter")),
        ("Сделай фото теплее и светлее", ("warmer colour tone", "brighter")),
        ("cooler and darker please", ("colder colour tone", "darker")),
        ("холоднее, темнее", ("colder colour tone", "darker")),
        ("black & white", ("black-and-white",)),
        ("чёрно-белым", ("black-and-white",)),
        ("more contrast", ("more contrast",)),
        ("поменьше контраста", ("less contrast",)),
        ("more vivid colours", ("more saturated colours",)),
        ("приглушённые цвета", ("muted colours",)),
    ],
)
def test_tone_keywords_in_both_languages(prompt: str, done: tuple[str, ...]) -> None:
    plan = plan_edit(prompt)

    assert plan.done == done
    assert plan.not_done == ""


@pytest.mark.parametrize(
    ("prompt", "colour", "label"),
    [
        ("white background", (245, 245, 245), "white"),
        ("make the background light blue", (135, 190, 235), "light blue"),
        ("на белом фоне", (245, 245, 245), "white"),
        ("фон сделай серым", (128, 128, 128), "grey"),
        ("поменяй фон на синий", (30, 80, 200), "blue"),
        ("background #112233", (0x11, 0x22, 0x33), "#112233"),
        ("green screen", CHROMA_GREEN, "green screen"),
        ("хромакей", CHROMA_GREEN, "green screen"),
        ("на зелёном фоне", CHROMA_GREEN, "green"),
    ],
)
def test_background_colours(prompt: str, colour: tuple[int, int, int], label: str) -> None:
    plan = plan_edit(prompt)

    assert (plan.background, plan.background_label) == (colour, label)
    assert plan.not_done == ""


def test_black_and_white_is_not_read_as_a_black_background() -> None:
    plan = plan_edit("black and white photo, white background")

    assert plan.grayscale
    assert plan.background_label == "white"


def test_the_later_of_two_opposite_wishes_wins() -> None:
    assert plan_edit("warmer... no, actually colder").tone == "colder"
    assert plan_edit("darker, no, brighter").brightness == "up"


def test_what_it_cannot_do_is_kept_for_the_note() -> None:
    plan = plan_edit("сделай её блондинкой и чуть ярче")

    assert plan.done == ("brighter",)
    assert plan.not_done == "блондинкой"
    assert edit_note(plan) == (
        'Done locally: brighter. Not done: "блондинкой" — the local editor only changes colour tone, '
        "brightness, contrast, saturation, black-and-white and a plain background colour."
    )


@pytest.mark.parametrize(
    "prompt", ["make her smile", "put him on a beach", "remove the background", "", "!!!"]
)
def test_prompts_with_nothing_it_can_do_plan_nothing(prompt: str) -> None:
    assert plan_edit(prompt).done == ()


def test_a_background_without_a_colour_is_not_guessed() -> None:
    plan = plan_edit("blur the background")

    assert plan.background is None
    assert plan.not_done == "blur background"


def test_a_huge_prompt_leaves_a_short_not_done() -> None:
    plan = plan_edit("warmer " + "with a tall hat and sunglasses " * 70)

    assert plan.tone == "warmer"
    assert len(plan.not_done) <= 101
    assert plan.not_done.endswith("…")


def test_an_empty_plan_says_nothing_was_done() -> None:
    assert EditPlan().done == ()
