"""The thumbnail Telegram shows for a video before it plays: JPEG, at most 320 px a side, under 200 kB."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from app.services.media_probe import MediaToolError, file_url, run_media_tool

THUMB_SIDE = 320
THUMB_SECONDS = 0.5  # past a possible black first frame


async def make_thumbnail(video: Path, dest: Path, *, ffmpeg: str = "ffmpeg") -> Path | None:
    """A JPEG frame from half a second in, at most 320 px a side; None if ffmpeg cannot make one (a very
    short or broken video: the video is sent without a thumbnail then)."""
    scale = f"scale='if(gt(iw,ih),{THUMB_SIDE},-2)':'if(gt(iw,ih),-2,{THUMB_SIDE})'"
    args = [
        ffmpeg, "-nostdin", "-y", "-v", "error", "-ss", str(THUMB_SECONDS), "-i", file_url(video),
        "-frames:v", "1", "-vf", scale, "-q:v", "5", file_url(dest),
    ]  # fmt: skip
    with contextlib.suppress(MediaToolError, OSError):
        await run_media_tool(args, time_limit=60)
        if await asyncio.to_thread(lambda: dest.is_file() and dest.stat().st_size > 0):
            return dest
    return None
