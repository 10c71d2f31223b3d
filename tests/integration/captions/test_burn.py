"""Captions burned by real ffmpeg/libass: on screen only while spoken, the word being spoken in colour,
the sound and length of the video untouched, odd paths and hostile text harmless, fonts present."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from app.services.captions import CaptionBurner, CaptionStyle, build_ass, caption_lines, load_caption_styles
from app.services.captions.burn import filter_option
from app.services.providers import ProviderError, WordTiming
from tests.integration.providers.conftest import container_duration, frame_at, run, streams
from tests.integration.providers.test_local_video import top_level_atoms

ROOT = Path(__file__).resolve().parents[3]
WIDTH, HEIGHT = 720, 1280
SECONDS = 3.0
# "Привет" is spoken 0.6–1.2 s and "мир" 1.2–1.8 s; before and after, the screen must stay clean.
WORDS = (WordTiming("Привет", 0.6, 1.2), WordTiming("мир", 1.2, 1.8))
PANGRAM = (
    "Съешь же ещё этих мягких французских булок да выпей чаю "
    "здравствуйте the quick brown fox jumps over the lazy dog"
)


@pytest.fixture(scope="module")
def styles() -> dict[str, CaptionStyle]:
    catalog = load_caption_styles(ROOT / "catalog" / "captions.yaml")
    return {name: catalog.style(name) for name in catalog.names}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A black 720×1280 H.264 video with a 440 Hz AAC tone, like the talking video the pipeline makes."""
    path = tmp_path_factory.mktemp("source") / "talking.mp4"
    run([
        "ffmpeg", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"color=c=black:size={WIDTH}x{HEIGHT}:rate=25:duration={SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        str(path),
    ])  # fmt: skip
    return path


@pytest.fixture(scope="module")
def captioned(
    source: Path, styles: dict[str, CaptionStyle], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    workdir = tmp_path_factory.mktemp("burn")
    return asyncio.run(CaptionBurner().burn(source, WORDS, styles["bold"], workdir=workdir))


def caption_band(frame: Image.Image, style: CaptionStyle) -> Image.Image:
    """The strip of the frame the style's captions sit in."""
    bottom = HEIGHT - style.margin_bottom
    return frame.crop((0, bottom - 2 * style.size, WIDTH, bottom + style.size // 2))


def brightness(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).mean[0])


def yellow_centre(image: Image.Image) -> float | None:
    """Mean x of the yellow pixels (the highlighted word), None when there are none."""
    data = image.convert("RGB").tobytes()
    xs = [
        (offset // 3) % image.width
        for offset in range(0, len(data), 3)
        if data[offset] > 180 and data[offset + 1] > 150 and data[offset + 2] < 110
    ]
    return sum(xs) / len(xs) if len(xs) > 50 else None


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def audio_md5(path: Path) -> str:
    return run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "md5", "-"]
    ).decode()


def test_captions_show_only_while_the_words_are_spoken(
    captioned: Path, styles: dict[str, CaptionStyle]
) -> None:
    bold = styles["bold"]
    band = {t: brightness(caption_band(frame_at(captioned, t), bold)) for t in (0.2, 0.9, 1.5, 2.6)}

    assert band[0.2] < 1 and band[2.6] < 1
    assert band[0.9] > 8 and band[1.5] > 8
    above = frame_at(captioned, 0.9).crop((0, 0, WIDTH, HEIGHT - bold.margin_bottom - 2 * bold.size))
    assert brightness(above) < 1  # the caption sits in the lower part only


def test_the_word_being_spoken_is_the_yellow_one(captioned: Path, styles: dict[str, CaptionStyle]) -> None:
    first = yellow_centre(caption_band(frame_at(captioned, 0.9), styles["bold"]))
    second = yellow_centre(caption_band(frame_at(captioned, 1.5), styles["bold"]))

    assert first is not None and first < WIDTH / 2  # "ПРИВЕТ", left of "МИР"
    assert second is not None and second > WIDTH / 2


def test_the_video_keeps_its_length_size_and_exact_sound(source: Path, captioned: Path) -> None:
    (video,) = streams(captioned, "video")
    (audio,) = streams(captioned, "audio")

    assert abs(container_duration(captioned) - container_duration(source)) < 0.1
    assert (video["codec_name"], video["width"], video["height"], video["pix_fmt"]) == (
        "h264", WIDTH, HEIGHT, "yuv420p",
    )  # fmt: skip
    assert audio["codec_name"] == "aac"
    assert audio_md5(captioned) == audio_md5(source)  # copied, not re-encoded
    atoms = top_level_atoms(captioned)
    assert atoms.index("moov") < atoms.index("mdat")  # starts playing before it is fully downloaded


async def test_odd_paths_and_hostile_text_render_as_plain_captions(
    source: Path, styles: dict[str, CaptionStyle], tmp_path: Path
) -> None:
    workdir = tmp_path / "it's a:b,c [x];d\\e"
    fonts = tmp_path / "fonts, 'ours':x"
    workdir.mkdir()
    fonts.mkdir()
    # Read as ASS markup, the first would turn transparent and jump to the top, the second vanish whole.
    words = [WordTiming("{\\alpha&HFF&\\an8}Один", 0.2, 1.0), WordTiming("{видно}", 1.8, 2.8)]

    output = await CaptionBurner(fonts_dir=fonts).burn(source, words, styles["clean"], workdir=workdir)

    for seconds in (0.6, 2.2):
        frame = frame_at(output, seconds)
        assert brightness(caption_band(frame, styles["clean"])) > 2, seconds
        assert brightness(frame.crop((0, 0, WIDTH, HEIGHT // 2))) < 1, seconds
    assert leftovers(workdir) == [output.name]  # the .ass file is cleaned up


async def test_no_words_give_the_same_video_without_captions(
    source: Path, styles: dict[str, CaptionStyle], tmp_path: Path
) -> None:
    output = await CaptionBurner().burn(source, [], styles["bold"], workdir=tmp_path)

    assert brightness(frame_at(output, 1.0)) < 1
    assert abs(container_duration(output) - SECONDS) < 0.1


@pytest.mark.parametrize(
    "content", [b"", b"not a video at all " * 50, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500]
)
async def test_a_broken_video_fails_as_video_failed_and_leaves_nothing_behind(
    content: bytes, styles: dict[str, CaptionStyle], tmp_path: Path
) -> None:
    broken = tmp_path / "in" / "talking.mp4"
    broken.parent.mkdir()
    broken.write_bytes(content)
    workdir = tmp_path / "work"
    workdir.mkdir()

    with pytest.raises(ProviderError) as caught:
        await CaptionBurner().burn(broken, WORDS, styles["bold"], workdir=workdir)

    assert caught.value.reason == "video_failed"
    assert leftovers(workdir) == []


async def test_an_ffmpeg_failure_is_video_failed_with_its_message(
    source: Path, styles: dict[str, CaptionStyle], tmp_path: Path
) -> None:
    burner = CaptionBurner(ffmpeg=str(tmp_path / "no-ffmpeg"))

    with pytest.raises(ProviderError) as caught:
        await burner.burn(source, WORDS, styles["bold"], workdir=tmp_path)

    assert caught.value.reason == "video_failed" and "no-ffmpeg" in caught.value.detail
    assert leftovers(tmp_path) == []


def test_every_style_font_is_installed_and_covers_cyrillic(styles: dict[str, CaptionStyle]) -> None:
    for name, style in styles.items():
        found = subprocess.run(
            ["fc-list", f":family={style.font}:lang=ru", "family"], capture_output=True, text=True, check=True
        ).stdout
        assert found.strip(), f"{name}: font {style.font!r} is not installed or has no Cyrillic"


def rendered_rows(document: str, seconds: int, workdir: Path) -> list[Image.Image]:
    """One grey frame per second of ``document`` drawn on black (frame ``i`` at ``i`` s)."""
    subtitles = workdir / "fit.ass"
    subtitles.write_text(document, encoding="utf-8")
    raw = run([
        "ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"color=c=black:size={WIDTH}x{HEIGHT}:rate=1",
        "-frames:v", str(seconds), "-vf", f"ass=filename={filter_option(str(subtitles))}",
        "-f", "rawvideo", "-pix_fmt", "gray", "-",
    ])  # fmt: skip
    size = WIDTH * HEIGHT
    return [Image.frombytes("L", (WIDTH, HEIGHT), raw[i * size : (i + 1) * size]) for i in range(seconds)]


def timed_lines(texts: Sequence[str], style: CaptionStyle) -> list[WordTiming]:
    """The words of each caption line spread over its own second, so frame ``i`` shows line ``i``."""
    words: list[WordTiming] = []
    untimed = [WordTiming(text, i / 10, (i + 1) / 10) for i, text in enumerate(texts)]
    for second, line in enumerate(caption_lines(untimed, style)):
        step = 1 / len(line.words)
        words += [
            WordTiming(w.text, second + i * step, second + (i + 1) * step) for i, w in enumerate(line.words)
        ]
    return words


def test_a_full_line_of_every_style_fits_the_frame_on_one_row(
    styles: dict[str, CaptionStyle], tmp_path: Path
) -> None:
    for name, style in styles.items():
        wide = style.model_copy(update={"max_words": 12})  # lines as long as max_chars allows
        words = timed_lines(PANGRAM.split(), wide)
        lines = caption_lines(words, wide)
        assert max(len(line.text) for line in lines) >= wide.max_chars - 3, name

        for line, frame in zip(
            lines, rendered_rows(build_ass(words, wide), len(lines), tmp_path), strict=True
        ):
            box = frame.point(lambda v: 255 if v > 100 else 0).getbbox()
            assert box is not None, f"{name}: {line.text!r} is not drawn"
            left, top, right, bottom = box
            assert left >= style.margin_x // 2 and right <= WIDTH - style.margin_x // 2, (
                f"{name}: {line.text!r}"
            )
            assert bottom - top < 1.3 * style.size, f"{name}: {line.text!r} wraps onto a second row"
