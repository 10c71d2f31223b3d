"""The uploaded-background checks on real files: each bad upload gets the reason its message is chosen by."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from app.services.media_probe import (
    BACKGROUND_MAX_BYTES,
    MediaProblem,
    MediaToolError,
    check_background_video,
    probe,
    probe_duration,
    run_media_tool,
)
from tests.integration.providers.conftest import clip, h264_clip, run, tone


async def reason_for(path: Path, **limits: int) -> str:
    with pytest.raises(MediaProblem) as caught:
        await check_background_video(path, **limits)  # type: ignore[arg-type]
    return caught.value.reason


@pytest.mark.parametrize(
    ("name", "extra", "format_name", "codec"),
    [
        ("phone.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"], "mov", "h264"),
        ("iphone.mov", ["-c:v", "libx264", "-preset", "ultrafast", "-f", "mov"], "mov", "h264"),
        (
            "browser.webm",
            ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"],
            "matroska",
            "vp9",
        ),
    ],
)
async def test_mp4_mov_and_webm_backgrounds_are_accepted(
    tmp_path: Path, name: str, extra: list[str], format_name: str, codec: str
) -> None:
    path = clip(tmp_path / name, 2, extra=extra)

    info = await check_background_video(path)

    assert info.format_names[0] == format_name
    assert info.video_codec == codec
    assert (info.width, info.height) == (320, 240)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.size == path.stat().st_size


async def test_a_text_file_renamed_mp4_is_not_media(tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    path.write_text("Dear customer,\nthis is not a video at all.\n")

    assert await reason_for(path) == "not_media"


async def test_an_empty_file_is_not_media(tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    path.write_bytes(b"")

    assert await reason_for(path) == "not_media"


async def test_an_mp4_cut_before_its_index_is_corrupt(media: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.mp4"
    path.write_bytes((media / "clip3.mp4").read_bytes()[:30_000])  # ffmpeg writes the moov index last

    assert await reason_for(path) == "corrupt"


async def test_a_faststart_mp4_cut_in_its_frames_is_corrupt(tmp_path: Path) -> None:
    """The index at the front still probes fine; the missing frames must give it away."""
    whole = clip(
        tmp_path / "whole.mp4",
        3,
        extra=["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart"],
    )
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])

    assert (await probe(cut)).duration == pytest.approx(3.0, abs=0.1)  # what a naive check would trust
    assert await reason_for(cut) == "corrupt"


async def test_a_webm_cut_in_half_is_corrupt(tmp_path: Path) -> None:
    whole = clip(
        tmp_path / "whole.webm", 3, extra=["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"]
    )
    cut = tmp_path / "cut.webm"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])

    assert await reason_for(cut) == "corrupt"


async def test_a_16_second_video_is_too_long(media: Path) -> None:
    assert await reason_for(media / "clip16.mp4") == "too_long"


async def test_15_seconds_is_still_allowed(tmp_path: Path) -> None:
    info = await check_background_video(h264_clip(tmp_path / "fifteen.mp4", 15, size="160x120", rate=5))

    assert info.duration == pytest.approx(15.0, abs=0.2)


async def test_a_file_over_20_mb_is_too_big_before_anything_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "huge.mp4"
    with path.open("wb") as f:
        f.truncate(BACKGROUND_MAX_BYTES + 1)  # sparse: costs no disk and would not even probe

    assert await reason_for(path) == "too_big"


async def test_the_size_limit_is_configurable(media: Path) -> None:
    path = media / "clip3.mp4"

    assert await reason_for(path, max_bytes=path.stat().st_size - 1) == "too_big"


async def test_audio_without_video_has_no_video_stream(tmp_path: Path) -> None:
    wav = tone(tmp_path / "voice.wav", 2)
    path = tmp_path / "voice.mp4"
    run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", str(path)])

    assert await reason_for(path) == "no_video_stream"


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("h264.mkv", ["-c:v", "libx264", "-preset", "ultrafast"]),  # matroska, but not a WebM codec
        ("old.avi", ["-c:v", "mpeg4"]),
        ("anim.gif", []),
    ],
)
async def test_other_containers_are_the_wrong_container(tmp_path: Path, name: str, extra: list[str]) -> None:
    assert await reason_for(clip(tmp_path / name, 1, extra=extra)) == "wrong_container"


async def test_a_photo_sent_where_a_video_is_expected_is_the_wrong_container(
    media: Path, tmp_path: Path
) -> None:
    path = tmp_path / "photo.mp4"
    shutil.copy(media / "portrait.jpg", path)

    assert await reason_for(path) == "wrong_container"


async def test_a_missing_file_is_not_media(tmp_path: Path) -> None:
    assert await reason_for(tmp_path / "gone.mp4") == "not_media"


async def test_probe_reports_audio_and_duration_of_a_wav(media: Path) -> None:
    info = await probe(media / "speech5.wav")

    assert info.audio_codec == "pcm_s16le"
    assert info.sample_rate == 22050
    assert not info.has_video
    assert await probe_duration(media / "speech5.wav") == pytest.approx(5.0, abs=0.01)


async def test_a_hung_tool_is_stopped_at_its_time_limit() -> None:
    started = time.monotonic()

    with pytest.raises(MediaToolError, match=r"still running after 0\.3 s"):
        await run_media_tool(["sleep", "30"], time_limit=0.3)

    assert time.monotonic() - started < 5


async def test_a_cancelled_caller_does_not_wait_for_the_tool() -> None:
    task = asyncio.create_task(run_media_tool(["sleep", "30"], time_limit=60))
    await asyncio.sleep(0.3)
    started = time.monotonic()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert time.monotonic() - started < 5  # the process was killed, not waited for


async def test_a_missing_tool_is_a_tool_error() -> None:
    with pytest.raises(MediaToolError, match="cannot start"):
        await run_media_tool(["/nonexistent/ffprobe", "-version"], time_limit=5)


async def test_a_colon_in_the_file_name_is_not_read_as_a_protocol(media: Path, tmp_path: Path) -> None:
    path = tmp_path / "concat:clip.mp4"
    shutil.copy(media / "clip3.mp4", path)

    assert (await check_background_video(path)).duration == pytest.approx(3.0, abs=0.1)
