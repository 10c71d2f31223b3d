"""Captions burned into a finished video by ffmpeg's libass filter; the audio is copied untouched."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path

from app.services.captions.ass import build_ass
from app.services.captions.style import CaptionStyle
from app.services.media_probe import MediaProblem, MediaToolError, file_url, probe, run_media_tool
from app.services.providers import ProviderError, WordTiming

# Characters a value must not carry unescaped: first inside a filter's option list, then in the graph.
_OPTION_SPECIAL = ("\\", "'", ":")
_GRAPH_SPECIAL = ("\\", "'", "[", "]", ",", ";")


def filter_option(value: str) -> str:
    """``value`` escaped for use as one option value in an ffmpeg ``-vf`` filter graph."""
    for char in _OPTION_SPECIAL:
        value = value.replace(char, "\\" + char)
    escaped = ""
    for char in value:
        escaped += "\\" + char if char in _GRAPH_SPECIAL else char
    return escaped


class CaptionBurner:
    """Burns word-timed captions into an MP4 (libx264 veryfast, CRF 23); the audio stream is copied."""

    def __init__(
        self,
        *,
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
        fonts_dir: Path | None = None,
        time_limit: float = 300.0,
    ) -> None:
        self._ffmpeg = ffmpeg
        self._ffprobe = ffprobe
        self._fonts_dir = fonts_dir  # fonts shipped with the bot, searched before the system's
        self._time_limit = time_limit

    async def burn(
        self, video: Path, words: Sequence[WordTiming], style: CaptionStyle, *, workdir: Path
    ) -> Path:
        """A new MP4 in ``workdir`` with ``words`` burned in; ProviderError("video_failed") on failure."""
        stem = f"captioned-{secrets.token_hex(4)}"
        subtitles, output = workdir / f"{stem}.ass", workdir / f"{stem}.mp4"
        try:
            info = await probe(video, ffprobe=self._ffprobe)
            if not info.has_video or info.width is None or info.height is None:
                raise ProviderError("video_failed", f"{video.name}: no video stream to caption")
            # ffmpeg turns a rotated phone video upright before filters see it: the frame is the other way.
            width, height = (
                (info.height, info.width) if info.rotation in {90, 270} else (info.width, info.height)
            )
            subtitles.write_text(build_ass(words, style, width=width, height=height), encoding="utf-8")
            await run_media_tool(self._args(video, subtitles, output), time_limit=self._time_limit)
        except (MediaToolError, MediaProblem, OSError) as exc:
            output.unlink(missing_ok=True)
            raise ProviderError("video_failed", f"captions: {exc}") from exc
        except ProviderError:
            output.unlink(missing_ok=True)
            raise
        finally:
            subtitles.unlink(missing_ok=True)
        return output

    def _args(self, video: Path, subtitles: Path, output: Path) -> list[str]:
        # libass opens the file itself (no ffmpeg protocols), so the plain absolute path is what it needs.
        subtitle_filter = f"ass=filename={filter_option(str(subtitles.resolve()))}"
        if self._fonts_dir is not None:
            subtitle_filter += f":fontsdir={filter_option(str(self._fonts_dir.resolve()))}"
        return [
            self._ffmpeg, "-nostdin", "-y", "-v", "error", "-i", file_url(video),
            "-map", "0:v:0", "-map", "0:a?", "-vf", subtitle_filter,
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
            "-c:a", "copy", "-movflags", "+faststart", file_url(output),
        ]  # fmt: skip
