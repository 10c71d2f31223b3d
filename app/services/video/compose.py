"""The background format's last video step: the talking character over the user's own video, 9:16.

The talking video was made from the character on a flat chroma-green backdrop; ffmpeg keys the green out
(``chromakey`` + ``despill``) and lays the person over the background, which is scaled and cropped to fill
720×1280 and looped or cut to the speech. A talking video without a green backdrop (a provider that could not
make one) is laid over as a framed picture-in-picture instead, so the user still gets their background.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from PIL import Image

from app.services.media_probe import MediaProblem, MediaToolError, file_url, probe, run_media_tool
from app.services.providers import ProviderError, RenderedVideo
from app.services.video.local import (
    CHROMA_BLEND,
    CHROMA_SIMILARITY,
    FPS,
    HEIGHT,
    PIP_BOTTOM_MARGIN,
    PIP_WIDTH,
    WIDTH,
    chroma_key_colour,
)


class FfmpegCompositor:
    """Keys the talking video's green out and overlays it on the background (libx264 veryfast)."""

    name = "ffmpeg"

    def __init__(
        self, *, ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe", time_limit: float = 600.0
    ) -> None:
        self._ffmpeg = ffmpeg
        self._ffprobe = ffprobe
        self._time_limit = time_limit

    async def composite(self, talking: Path, background: Path, *, workdir: Path) -> RenderedVideo:
        """The composite as long as the talking video, its audio kept; ProviderError("video_failed") on
        unreadable inputs."""
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        stem = f"composite-{secrets.token_hex(4)}"
        frame = workdir / f"{stem}-frame.png"
        output = workdir / f"{stem}.mp4"
        try:
            talking_info = await probe(talking, ffprobe=self._ffprobe)
            duration = talking_info.duration
            if not duration:
                raise MediaProblem("corrupt", "the talking video has no duration")
            await run_media_tool(
                [self._ffmpeg, "-nostdin", "-y", "-v", "error", "-i", file_url(talking),
                 "-frames:v", "1", file_url(frame)],
                time_limit=60,
            )  # fmt: skip
            key = await asyncio.to_thread(_key_colour, frame)
            await run_media_tool(
                self._args(talking, background, key, duration, output), time_limit=self._time_limit
            )
            info = await probe(output, ffprobe=self._ffprobe)
        except (MediaToolError, MediaProblem, OSError, ValueError) as exc:
            output.unlink(missing_ok=True)
            raise ProviderError("video_failed", str(exc)) from exc
        finally:
            frame.unlink(missing_ok=True)
        return RenderedVideo(
            path=output,
            duration=info.duration or duration,
            width=info.width or WIDTH,
            height=info.height or HEIGHT,
            provider=self.name,
        )

    def _args(
        self, talking: Path, background: Path, key: str | None, duration: float, output: Path
    ) -> list[str]:
        fill = (
            f"scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=increase,crop={WIDTH}:{HEIGHT},"
            f"setsar=1,fps={FPS}"
        )
        if key is not None:
            person = (
                f"scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=increase,crop={WIDTH}:{HEIGHT},"
                f"setsar=1,fps={FPS},format=yuva420p,"
                f"chromakey={key}:{CHROMA_SIMILARITY}:{CHROMA_BLEND},despill=type=green"
            )
            place = "0:0"
        else:
            person = f"scale={PIP_WIDTH}:-2,setsar=1,fps={FPS},format=rgba"
            place = f"(W-w)/2:H-h-{PIP_BOTTOM_MARGIN}"
        graph = (
            f"[0:v]{fill}[bg];[1:v]{person}[fg];[bg][fg]overlay={place}:eof_action=repeat,format=yuv420p[v]"
        )
        # The background loops for ever and -t cuts it where the speech ends: a short clip under a long
        # speech repeats, a long one is trimmed.
        return [
            self._ffmpeg, "-nostdin", "-y", "-v", "error",
            "-stream_loop", "-1", "-i", file_url(background), "-i", file_url(talking),
            "-filter_complex", graph, "-map", "[v]", "-map", "1:a:0?",
            "-t", f"{duration:.3f}", "-r", str(FPS),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k",
            "-map_metadata", "-1", "-map_chapters", "-1",
            "-movflags", "+faststart", file_url(output),
        ]  # fmt: skip


def _key_colour(frame: Path) -> str | None:
    with Image.open(frame) as opened:
        picture = opened.convert("RGB")
    key = chroma_key_colour(picture)
    return None if key is None else "0x{:02X}{:02X}{:02X}".format(*key)
