"""The Pillow look edit does to the pixels what its note says, keeps the picture's size, refuses the rest."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from app.services.image.local import CHROMA_GREEN, LocalImageEditor
from app.services.providers import EditedImage, EditRefused
from tests.integration.providers.conftest import FACE_CENTRE, SKIN, portrait

CORNERS = ((5, 5), (714, 5), (5, 640), (714, 640))


async def edit(source: Path, prompt: str, workdir: Path) -> tuple[EditedImage, Image.Image]:
    result = await LocalImageEditor().edit(source, prompt, workdir=workdir)
    with Image.open(result.path) as opened:
        assert opened.format == "JPEG"
        return result, opened.convert("RGB")


def luminance(image: Image.Image) -> float:
    return ImageStat.Stat(image.convert("L")).mean[0]


def channel_means(image: Image.Image) -> list[float]:
    return ImageStat.Stat(image).mean


def close(colour: object, expected: tuple[int, int, int], tolerance: int = 30) -> bool:
    assert isinstance(colour, tuple)
    distance: int = sum(abs(a - b) for a, b in zip(colour, expected, strict=True))
    return distance < tolerance


@pytest.fixture
def original(media: Path) -> Image.Image:
    with Image.open(media / "portrait.jpg") as opened:
        return opened.convert("RGB")


@pytest.mark.parametrize("prompt", ["make it brighter", "сделай светлее"])
async def test_brighter_raises_the_mean_luminance(
    media: Path, tmp_path: Path, original: Image.Image, prompt: str
) -> None:
    result, edited = await edit(media / "portrait.jpg", prompt, tmp_path)

    assert luminance(edited) > luminance(original) + 10
    assert result.note == "Done locally: brighter."
    assert result.provider == "local"


async def test_darker_lowers_it(media: Path, tmp_path: Path, original: Image.Image) -> None:
    _, edited = await edit(media / "portrait.jpg", "чуть темнее, пожалуйста", tmp_path)

    assert luminance(edited) < luminance(original) - 10


@pytest.mark.parametrize("prompt", ["warmer tones", "сделай теплее"])
async def test_warmer_shifts_towards_red(
    media: Path, tmp_path: Path, original: Image.Image, prompt: str
) -> None:
    _, edited = await edit(media / "portrait.jpg", prompt, tmp_path)

    red, _, blue = channel_means(edited)
    red_before, _, blue_before = channel_means(original)
    assert red - blue > red_before - blue_before + 15


async def test_colder_shifts_towards_blue(media: Path, tmp_path: Path, original: Image.Image) -> None:
    _, edited = await edit(media / "portrait.jpg", "make it cooler", tmp_path)

    red, _, blue = channel_means(edited)
    red_before, _, blue_before = channel_means(original)
    assert blue - red > blue_before - red_before + 15


@pytest.mark.parametrize("prompt", ["black and white", "чёрно-белое фото", "ч/б"])
async def test_black_and_white_has_no_colour_left(media: Path, tmp_path: Path, prompt: str) -> None:
    result, edited = await edit(media / "portrait.jpg", prompt, tmp_path)

    face = edited.getpixel(FACE_CENTRE)
    assert isinstance(face, tuple)
    assert max(face) - min(face) <= 6  # JPEG noise only
    assert "black-and-white" in result.note


async def test_more_contrast_spreads_the_tones(media: Path, tmp_path: Path, original: Image.Image) -> None:
    _, edited = await edit(media / "portrait.jpg", "больше контраста", tmp_path)

    assert (
        ImageStat.Stat(edited.convert("L")).stddev[0] > ImageStat.Stat(original.convert("L")).stddev[0] * 1.15
    )


@pytest.mark.parametrize("prompt", ["green screen", "на зелёном фоне", "хромакей вместо фона"])
async def test_green_screen_makes_the_backdrop_chroma_green_and_keeps_the_face(
    media: Path, tmp_path: Path, prompt: str
) -> None:
    result, edited = await edit(media / "portrait.jpg", prompt, tmp_path)

    assert all(close(edited.getpixel(corner), CHROMA_GREEN) for corner in CORNERS)
    assert close(edited.getpixel(FACE_CENTRE), SKIN)
    assert "background replaced" in result.note


async def test_a_background_colour_goes_behind_a_warmer_person(media: Path, tmp_path: Path) -> None:
    result, edited = await edit(media / "portrait.jpg", "white background and a warmer tone", tmp_path)

    assert all(
        close(edited.getpixel(corner), (245, 245, 245)) for corner in CORNERS
    )  # exactly the colour asked
    face = edited.getpixel(FACE_CENTRE)
    assert isinstance(face, tuple)
    assert face[0] > SKIN[0] and face[2] < SKIN[2]  # the person got warmer
    assert result.note == "Done locally: background replaced with white (approximate), warmer colour tone."


async def test_the_picture_keeps_its_size(tmp_path: Path) -> None:
    source = portrait(tmp_path / "wide.jpg", size=(900, 600))

    _, edited = await edit(source, "brighter", tmp_path / "out")

    assert edited.size == (900, 600)


async def test_the_same_edit_gives_the_same_file(media: Path, tmp_path: Path) -> None:
    first, _ = await edit(media / "portrait.jpg", "warmer, green screen", tmp_path / "a")
    second, _ = await edit(media / "portrait.jpg", "warmer, green screen", tmp_path / "b")

    assert first.path.name == second.path.name
    assert first.path.read_bytes() == second.path.read_bytes()


async def test_what_cannot_be_done_is_named_in_the_note(media: Path, tmp_path: Path) -> None:
    result, _ = await edit(media / "portrait.jpg", "make her smile and make it brighter", tmp_path)

    assert result.note.startswith("Done locally: brighter.")
    assert 'Not done: "smile"' in result.note


@pytest.mark.parametrize("prompt", ["make her smile", "надень на неё шляпу", "put him on a beach", "   "])
async def test_a_prompt_it_cannot_act_on_is_refused(media: Path, tmp_path: Path, prompt: str) -> None:
    with pytest.raises(EditRefused) as caught:
        await LocalImageEditor().edit(media / "portrait.jpg", prompt, workdir=tmp_path)

    assert caught.value.reason == "edit_unsupported"
    assert not os.listdir(tmp_path)


async def test_a_busy_picture_gets_no_new_background_and_says_so(tmp_path: Path) -> None:
    noisy = tmp_path / "busy.jpg"
    rng = random.Random(4)
    busy = Image.new("RGB", (360, 640))
    for x in range(0, 360, 12):
        for y in range(0, 640, 12):
            colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            busy.paste(colour, (x, y, x + 12, y + 12))
    busy.save(noisy)

    with pytest.raises(EditRefused):
        await LocalImageEditor().edit(noisy, "white background", workdir=tmp_path / "a")
    result, _ = await edit(noisy, "white background, brighter", tmp_path / "b")

    assert "no plain backdrop found" in result.note
    assert result.note.startswith("Done locally: brighter.")


async def test_a_2000_character_prompt_is_handled_quickly(media: Path, tmp_path: Path) -> None:
    prompt = ("make it warmer and add a hat " * 80)[:2000]
    started = time.monotonic()

    result, _ = await edit(media / "portrait.jpg", prompt, tmp_path)

    assert time.monotonic() - started < 5
    assert "warmer colour tone" in result.note
    assert len(result.note) < 400  # the leftover words are cut, not echoed in full
