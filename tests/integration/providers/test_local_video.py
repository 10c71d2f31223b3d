"""ffmpeg videos as Telegram plays them: 720×1280 H.264/AAC, streamable, as long as the speech, looped."""

from __future__ import annotations

import asyncio
import os
import struct
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from app.services.providers import ProviderError, RenderedVideo
from app.services.video.local import HEIGHT, PIP_BORDER, PIP_BOTTOM_MARGIN, PIP_WIDTH, WIDTH, LocalVideoMaker
from tests.integration.providers.conftest import (
    BACKDROP_TOP,
    BAND_RGB,
    FACE_CENTRE,
    SKIN,
    container_duration,
    frame_at,
    portrait,
    streams,
    tone,
)

SPEECH_SECONDS = 5.0
RGB = tuple[int, int, int]


def render(image: Path, speech: Path, background: Path | None, workdir: Path) -> tuple[RenderedVideo, float]:
    """A video made outside any test's event loop (shared renders keep the suite fast) and its render time."""
    started = time.monotonic()
    video = asyncio.run(LocalVideoMaker().make(image, speech, background=background, workdir=workdir))
    return video, time.monotonic() - started


@pytest.fixture(scope="module")
def talking_head(media: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[RenderedVideo, float]:
    return render(media / "portrait.jpg", media / "speech5.wav", None, tmp_path_factory.mktemp("head"))


@pytest.fixture(scope="module")
def over_bands(media: Path, tmp_path_factory: pytest.TempPathFactory) -> RenderedVideo:
    """The plain portrait over a 3 s background of red, blue and yellow seconds, for 5 s of speech."""
    return render(
        media / "portrait.jpg", media / "speech5.wav", media / "bands3.mp4", tmp_path_factory.mktemp("bg")
    )[0]


def top_level_atoms(path: Path) -> list[str]:
    """The MP4 box types in file order (a streamable file has moov before mdat)."""
    atoms: list[str] = []
    with path.open("rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            atoms.append(kind.decode("latin-1"))
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0] - 8
            elif size == 0:
                break
            f.seek(size - 8, 1)
    return atoms


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference (0–255) of two frames."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def colour_of(frame: Image.Image, box: tuple[int, int, int, int]) -> RGB:
    red, green, blue = (round(v) for v in ImageStat.Stat(frame.crop(box)).mean)
    return red, green, blue


def near(colour: RGB | float | tuple[int, ...] | None, expected: RGB, tolerance: int = 60) -> bool:
    assert isinstance(colour, tuple)
    return sum(abs(a - b) for a, b in zip(colour, expected, strict=True)) < tolerance


def assert_playable(path: Path, speech_seconds: float) -> None:
    (video,) = streams(path, "video")
    (audio,) = streams(path, "audio")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 720, 1280)
    assert video["pix_fmt"] == "yuv420p"
    assert audio["codec_name"] == "aac"
    assert container_duration(path) == pytest.approx(speech_seconds, abs=0.1)
    atoms = top_level_atoms(path)
    assert atoms.index("moov") < atoms.index("mdat"), atoms


def test_talking_head_is_a_streamable_720x1280_h264_aac_as_long_as_the_speech(
    talking_head: tuple[RenderedVideo, float],
) -> None:
    video, seconds = talking_head

    assert seconds < 20  # a few seconds on two cores; generous for a loaded CI box
    assert (video.width, video.height, video.provider) == (720, 1280, "local")
    assert video.duration == pytest.approx(SPEECH_SECONDS, abs=0.1)
    assert_playable(video.path, SPEECH_SECONDS)
    assert [p.name for p in video.path.parent.iterdir()] == [video.path.name]  # no stills left behind


def test_the_still_moves_gently(talking_head: tuple[RenderedVideo, float]) -> None:
    path = talking_head[0].path

    first, middle, last = (frame_at(path, t) for t in (0.0, 2.5, 4.8))

    assert 0.5 < difference(first, middle) < 40  # it moves, but it is still the same picture
    assert difference(first, last) > difference(first, middle)  # and keeps moving the same way
    assert near(first.getpixel(FACE_CENTRE), SKIN)  # the face stays in view
    assert near(last.getpixel(FACE_CENTRE), SKIN)


async def test_a_picture_of_another_size_is_fitted_to_9_16(tmp_path: Path) -> None:
    square = portrait(tmp_path / "square.jpg", size=(800, 800))
    speech = tone(tmp_path / "speech.wav", 1.5)

    video = await LocalVideoMaker().make(square, speech, background=None, workdir=tmp_path / "out")

    assert (video.width, video.height) == (720, 1280)
    assert_playable(video.path, 1.5)


def test_a_short_background_is_looped_to_the_speech(over_bands: RenderedVideo) -> None:
    assert_playable(over_bands.path, SPEECH_SECONDS)
    top = (0, 0, WIDTH, 300)  # above the picture-in-picture only the background shows

    seen = [colour_of(frame_at(over_bands.path, t), top) for t in (0.5, 1.5, 2.5, 3.5, 4.5)]

    expected = ["red", "blue", "yellow", "red", "blue"]  # the 3 s background starts again at 3 s
    assert all(near(colour, BAND_RGB[name]) for colour, name in zip(seen, expected, strict=True)), seen


def test_a_plain_portrait_is_a_framed_picture_in_the_lower_part(over_bands: RenderedVideo) -> None:
    frame = frame_at(over_bands.path, 0.5)
    scale = (PIP_WIDTH - 2 * PIP_BORDER) / WIDTH
    card_height = round((PIP_WIDTH - 2 * PIP_BORDER) * HEIGHT / WIDTH) + 2 * PIP_BORDER
    card_top = HEIGHT - PIP_BOTTOM_MARGIN - card_height
    card_left = (WIDTH - PIP_WIDTH) // 2

    def in_card(x: int, y: int) -> tuple[int, int]:
        """Where a point of the original portrait lands inside the picture-in-picture."""
        return card_left + PIP_BORDER + round(x * scale), card_top + PIP_BORDER + round(y * scale)

    assert near(frame.getpixel(in_card(*FACE_CENTRE)), SKIN)
    assert near(frame.getpixel(in_card(60, 60)), BACKDROP_TOP)
    assert near(frame.getpixel((card_left + 2, card_top + card_height // 2)), (255, 255, 255))  # the frame
    assert near(frame.getpixel((WIDTH // 2, HEIGHT - PIP_BOTTOM_MARGIN // 2)), BAND_RGB["red"])  # below it
    assert near(frame.getpixel((40, card_top + 200)), BAND_RGB["red"])  # beside it


async def test_a_long_background_is_cut_to_the_speech(media: Path, tmp_path: Path) -> None:
    speech = tone(tmp_path / "speech.wav", 2.0)

    video = await LocalVideoMaker().make(
        media / "portrait.jpg", speech, background=media / "clip16.mp4", workdir=tmp_path
    )

    assert_playable(video.path, 2.0)


async def test_a_chroma_green_character_is_keyed_out_over_the_background(media: Path, tmp_path: Path) -> None:
    speech = tone(tmp_path / "speech.wav", 1.0)

    video = await LocalVideoMaker().make(
        media / "green.jpg", speech, background=media / "bands3.mp4", workdir=tmp_path
    )

    frame = frame_at(video.path, 0.5)
    assert near(colour_of(frame, (0, 0, WIDTH, 250)), BAND_RGB["red"], 30)  # no green left above the head
    assert near(colour_of(frame, (0, 1000, 80, 1280)), BAND_RGB["red"], 30)  # nor beside the shoulders
    assert near(frame.getpixel(FACE_CENTRE), SKIN, 40)  # the person stays, full size, where they were


async def test_an_unreadable_picture_is_a_video_failure(media: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")

    with pytest.raises(ProviderError) as caught:
        await LocalVideoMaker().make(broken, media / "speech5.wav", background=None, workdir=tmp_path)

    assert caught.value.reason == "video_failed"


async def test_an_unreadable_background_is_a_video_failure_and_leaves_no_file(
    media: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    out = tmp_path / "out"
    out.mkdir()

    with pytest.raises(ProviderError) as caught:
        await LocalVideoMaker().make(
            media / "portrait.jpg", media / "speech5.wav", background=broken, workdir=out
        )

    assert caught.value.reason == "video_failed"
    assert not os.listdir(out)


async def test_paths_that_look_like_ffmpeg_syntax_are_plain_paths(media: Path, tmp_path: Path) -> None:
    odd = tmp_path / "user:7 %d take"
    odd.mkdir()
    background = odd / "clip:1.mp4"
    background.write_bytes((media / "bands3.mp4").read_bytes())
    speech = tone(odd / "speech.wav", 1.0)

    video = await LocalVideoMaker().make(media / "portrait.jpg", speech, background=background, workdir=odd)

    assert_playable(video.path, 1.0)
