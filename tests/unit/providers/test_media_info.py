"""ffprobe's JSON read into MediaInfo: the numbers the upload checks and the renderer rely on."""

from __future__ import annotations

import pytest

from app.services.media_probe import MediaProblem, media_info_from_ffprobe

PHONE_VIDEO = {
    "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "9.833"},
    "streams": [
        {
            "codec_type": "video",
            "codec_name": "mjpeg",
            "width": 320,
            "height": 320,
            "disposition": {"attached_pic": 1},
        },
        {
            "codec_type": "video",
            "codec_name": "hevc",
            "width": 1920,
            "height": 1080,
            "nb_frames": "295",
            "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}],
        },
        {"codec_type": "audio", "codec_name": "aac", "sample_rate": "44100"},
    ],
}


def test_a_phone_video_is_read_past_its_cover_picture() -> None:
    info = media_info_from_ffprobe(PHONE_VIDEO, size=5_000_000)

    assert info.format_name == "mov,mp4,m4a,3gp,3g2,mj2"
    assert info.format_names[0] == "mov"
    assert (info.video_codec, info.width, info.height) == ("hevc", 1920, 1080)
    assert info.rotation == 270  # a portrait recording stored sideways
    assert info.video_frames == 295
    assert (info.audio_codec, info.sample_rate) == ("aac", 44100)
    assert info.duration == pytest.approx(9.833)
    assert info.size == 5_000_000


def test_the_stream_duration_is_used_when_the_container_has_none() -> None:
    data = {
        "format": {"format_name": "matroska,webm", "duration": "N/A"},
        "streams": [
            {"codec_type": "video", "codec_name": "vp9", "width": 720, "height": 1280, "duration": "4.2"}
        ],
    }

    info = media_info_from_ffprobe(data, size=1)

    assert info.duration == pytest.approx(4.2)
    assert info.audio_codec is None


def test_no_duration_anywhere_is_unknown_not_zero() -> None:
    data = {
        "format": {"format_name": "matroska,webm"},
        "streams": [{"codec_type": "video", "codec_name": "vp8"}],
    }

    assert media_info_from_ffprobe(data, size=1).duration is None


def test_an_audio_file_has_no_video() -> None:
    data = {
        "format": {"format_name": "wav", "duration": "1.5"},
        "streams": [{"codec_type": "audio", "codec_name": "pcm_s16le"}],
    }

    info = media_info_from_ffprobe(data, size=1)

    assert not info.has_video
    assert info.rotation == 0


def test_json_without_a_container_is_not_media() -> None:
    with pytest.raises(MediaProblem) as caught:
        media_info_from_ffprobe({}, size=1)

    assert caught.value.reason == "not_media"


def test_text_that_ffprobe_renders_as_ansi_art_is_not_media() -> None:
    data = {
        "format": {"format_name": "tty", "duration": "12"},
        "streams": [{"codec_type": "video", "codec_name": "ansi"}],
    }

    with pytest.raises(MediaProblem) as caught:
        media_info_from_ffprobe(data, size=4000)

    assert caught.value.reason == "not_media"
