"""The free draft preview job with real ffmpeg: the video a user gets (720×1280, as long as the take, captions
where the words are spoken, the background format over their video), and a plain reason when it fails."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import FSInputFile, InputFile
from PIL import Image, ImageChops, ImageStat

from app.domain.generations import Draft
from app.jobs.captions import build_captioner
from app.jobs.preview import DraftPreview
from app.services.catalog import Catalog
from app.services.providers import ProviderError, RenderedVideo
from app.services.storage.copies import LocalCopies
from app.services.storage.keys import draft_key
from app.services.storage.local import LocalStorage
from app.services.video.local import LocalVideoMaker
from tests.conftest import ROOT
from tests.fakes.services import repo_texts
from tests.integration.create.media import ffprobe, run

USER = 7
SPEECH_SECONDS = 3.0
# The stored word timings: "Fresh" and "cream" are spoken in the first half; nothing after 1.6 s.
WORDS = [["Fresh", 0.3, 1.0], ["cream", 1.0, 1.6]]
SPOKEN, SILENT = 0.8, 2.5
CAPTION_BAND = (0, 820, 720, 1100)  # where the default (bold) style sits on a 720×1280 frame
FAILED_EN = "😔 The preview could not be made: {}. Nothing was charged — you can still order the video."


@dataclass
class RecordingBot:
    """What the job sends, with copies of the files (the job removes its own when it is done)."""

    keep: Path
    videos: list[dict[str, Any]] = field(default_factory=list)
    messages: list[tuple[int | str, str]] = field(default_factory=list)

    async def send_video(
        self,
        chat_id: int | str,
        video: InputFile | str,
        *,
        duration: int | None = None,
        width: int | None = None,
        height: int | None = None,
        thumbnail: InputFile | None = None,
        caption: str | None = None,
        supports_streaming: bool | None = None,
    ) -> None:
        assert isinstance(video, FSInputFile)
        number = len(self.videos) + 1
        sent = {
            "chat_id": chat_id,
            "duration": duration,
            "width": width,
            "height": height,
            "caption": caption,
            "supports_streaming": supports_streaming,
            "video": Path(shutil.copyfile(video.path, self.keep / f"video{number}.mp4")),
            "thumbnail": None,
        }
        if thumbnail is not None:
            assert isinstance(thumbnail, FSInputFile)
            sent["thumbnail"] = Path(shutil.copyfile(thumbnail.path, self.keep / f"thumb{number}.jpg"))
        self.videos.append(sent)

    async def send_message(self, chat_id: int | str, text: str) -> None:
        self.messages.append((chat_id, text))


@dataclass
class Setup:
    preview: DraftPreview
    bot: RecordingBot
    storage: LocalStorage
    scratch: Path


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("preview-sources")
    speech, background = folder / "speech.wav", folder / "background.mp4"
    run([
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi",
        "-i", f"sine=frequency=300:sample_rate=22050:duration={SPEECH_SECONDS}", "-ac", "1", str(speech),
    ])  # fmt: skip
    run([
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=blue:size=360x640:rate=25:duration=2",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(background),
    ])  # fmt: skip
    words = folder / "words.json"
    words.write_text(json.dumps(WORDS), encoding="utf-8")
    return {"speech": speech, "background": background, "words": words}


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    storage = LocalStorage(tmp_path / "storage")
    keep = tmp_path / "sent"
    keep.mkdir()
    bot = RecordingBot(keep)
    texts = repo_texts()
    scratch = tmp_path / "scratch"
    preview = DraftPreview(
        bot=bot,
        storage=storage,
        files=LocalCopies(storage, scratch / "copies"),
        catalog=Catalog.load(ROOT / "catalog", ("ru", "en"), "ru"),
        texts=texts,
        scratch_dir=scratch,
        video_maker=LocalVideoMaker(),
        captioner=build_captioner(ROOT / "catalog" / "captions.yaml"),
    )
    return Setup(preview, bot, storage, scratch)


async def stored_draft(setup: Setup, sources: dict[str, Path], *, background: bool = False) -> Draft:
    draft = Draft.new(USER, "en").with_character("anna").with_voice("en_ellie")
    draft = draft.with_format("background" if background else "talking_head")
    speech = draft_key(USER, draft.draft_id, "take1.wav")
    words = draft_key(USER, draft.draft_id, "take1.words.json")
    await setup.storage.put_file(speech, sources["speech"], content_type="audio/wav")
    await setup.storage.put_file(words, sources["words"], content_type="application/json")
    if background:
        key = draft_key(USER, draft.draft_id, "background.mp4")
        await setup.storage.put_file(key, sources["background"], content_type="video/mp4")
        draft = draft.with_background(key)
    draft = draft.with_script("Fresh cream for every morning")
    return draft.with_speech(
        speech_key=speech, speech_ogg_key=None, speech_seconds=SPEECH_SECONDS, speech_words_key=words
    )


def frame_at(path: Path, seconds: float) -> Image.Image:
    raw = run([
        "ffmpeg", "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(path), "-frames:v", "1",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ])  # fmt: skip
    return Image.frombytes("RGB", (720, 1280), raw[: 720 * 1280 * 3])


def difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def streams(path: Path, kind: str) -> list[dict[str, Any]]:
    return [s for s in ffprobe(path)["streams"] if s["codec_type"] == kind]


def leftovers(setup: Setup) -> list[Path]:
    folder = setup.scratch / "previews"
    return list(folder.iterdir()) if folder.exists() else []


async def test_a_talking_head_preview_with_captions_where_the_words_are_spoken(
    setup: Setup, sources: dict[str, Path]
) -> None:
    draft = await stored_draft(setup, sources)
    plain = draft.with_captions(False)

    await setup.preview(USER, draft.to_data())
    await setup.preview(USER, plain.to_data())

    assert setup.bot.messages == []
    captioned, uncaptioned = setup.bot.videos
    sent = captioned
    assert sent["chat_id"] == USER
    assert sent["caption"] == (
        "👀 Free preview of your video — a quick local render: no lip movement, lower quality."
    )
    assert (sent["width"], sent["height"], sent["duration"]) == (720, 1280, 3)
    assert sent["supports_streaming"] is True
    video = streams(sent["video"], "video")[0]
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 720, 1280)
    assert streams(sent["video"], "audio"), "the voice-over is in the preview"
    assert float(ffprobe(sent["video"])["format"]["duration"]) == pytest.approx(SPEECH_SECONDS, abs=0.2)
    with Image.open(sent["thumbnail"]) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 320

    while_spoken = difference(
        frame_at(captioned["video"], SPOKEN).crop(CAPTION_BAND),
        frame_at(uncaptioned["video"], SPOKEN).crop(CAPTION_BAND),
    )
    after_words = difference(
        frame_at(captioned["video"], SILENT).crop(CAPTION_BAND),
        frame_at(uncaptioned["video"], SILENT).crop(CAPTION_BAND),
    )
    assert while_spoken > 4 * max(after_words, 1.0), (while_spoken, after_words)
    assert leftovers(setup) == [], "the job's work folder is removed"


async def test_a_background_preview_puts_the_actor_over_the_users_video(
    setup: Setup, sources: dict[str, Path]
) -> None:
    draft = (await stored_draft(setup, sources, background=True)).with_captions(False)

    await setup.preview(USER, draft.to_data())

    [sent] = setup.bot.videos
    assert (sent["width"], sent["height"], sent["duration"]) == (720, 1280, 3)
    assert float(ffprobe(sent["video"])["format"]["duration"]) == pytest.approx(SPEECH_SECONDS, abs=0.2)
    frame = frame_at(sent["video"], 2.5)  # past the 2 s background: it loops under the speech
    red, green, blue = (round(v) for v in ImageStat.Stat(frame.crop((0, 0, 720, 300))).mean)
    assert blue > 180 and red < 60 and green < 60, "the user's blue video fills the top of the frame"
    red, green, blue = (round(v) for v in ImageStat.Stat(frame.crop((300, 800, 420, 900))).mean)
    assert not (blue > 180 and red < 60 and green < 60), "the actor covers the lower middle of the frame"


async def test_a_draft_whose_files_are_gone_is_explained(setup: Setup, sources: dict[str, Path]) -> None:
    draft = await stored_draft(setup, sources)
    await setup.storage.delete(str(draft.speech_key))

    await setup.preview(USER, draft.to_data())

    assert setup.bot.videos == []
    assert setup.bot.messages == [(USER, FAILED_EN.format("a file of your setup is gone"))]
    assert leftovers(setup) == []


async def test_a_failed_render_says_why_in_the_users_language(setup: Setup, sources: dict[str, Path]) -> None:
    class Broken:
        async def make(
            self, image: Path, speech: Path, *, background: Path | None, workdir: Path
        ) -> RenderedVideo:
            raise ProviderError("video_failed", "ffmpeg exploded")

    draft = replace(await stored_draft(setup, sources), locale="ru")

    await replace(setup.preview, video_maker=Broken())(USER, draft.to_data())

    assert setup.bot.videos == []
    assert setup.bot.messages == [
        (
            USER,
            "😔 Превью не получилось: не удалось отрендерить видео. "
            "Кредиты не списывались — видео можно заказать как обычно.",
        )
    ]


async def test_unusable_draft_data_gets_a_general_reason_not_a_crash(setup: Setup) -> None:
    await setup.preview(USER, {"user_id": USER, "draft_id": "x", "speech_seconds": "long"})

    assert setup.bot.messages == [
        (USER, "😔 Превью не получилось: произошла внутренняя ошибка. "
               "Кредиты не списывались — видео можно заказать как обычно.")
    ]  # fmt: skip
