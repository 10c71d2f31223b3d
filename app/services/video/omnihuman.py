"""Talking videos by ByteDance OmniHuman v1.5 on fal.ai: upload the still and the speech, queue, collect.

:meth:`OmniHumanVideo.submit` returns the whole fal request (id and URLs) as one string, so a restarted
worker can collect a render it submitted before, without paying for it twice.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any, Literal

from app.logs import get_logger
from app.services.fal.queue import FalQueueClient, FalRequest
from app.services.media_probe import MediaProblem, probe, probe_duration
from app.services.providers import ProviderError, RenderedVideo

log = get_logger(__name__)

MODEL = "fal-ai/bytedance/omnihuman/v1.5"
Resolution = Literal["720p", "1080p"]
# fal's limits: audio under 60 s at 720p, under 30 s at 1080p.
MAX_SPEECH_SECONDS: dict[Resolution, float] = {"720p": 60.0, "1080p": 30.0}
MAX_VIDEO_BYTES = 300 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class OmniHumanVideo:
    """``TalkingVideoMaker`` on fal.ai's OmniHuman: a lip-synced, moving person from one still."""

    name = "omnihuman"

    def __init__(
        self,
        fal: FalQueueClient,
        *,
        resolution: Resolution = "720p",
        model: str = MODEL,
        ffprobe: str = "ffprobe",
        max_video_bytes: int = MAX_VIDEO_BYTES,
    ) -> None:
        if resolution not in MAX_SPEECH_SECONDS:
            raise ValueError(f"OmniHuman renders 720p or 1080p, not {resolution!r}")
        self._fal = fal
        self._resolution: Resolution = resolution
        self._model = model
        self._ffprobe = ffprobe
        self._max_video_bytes = max_video_bytes

    async def submit(self, image: Path, speech: Path, *, workdir: Path) -> str:
        """Queue a render; speech too long for the resolution is refused before anything is sent."""
        seconds = await self._speech_seconds(speech)
        limit = MAX_SPEECH_SECONDS[self._resolution]
        if seconds >= limit:
            raise ProviderError(
                "speech_too_long",
                f"{seconds:.1f} s of speech; OmniHuman at {self._resolution} takes less than {limit:g} s",
            )
        image_url = await self._fal.upload(image, _content_type(image, "image/jpeg"))
        audio_url = await self._fal.upload(speech, _content_type(speech, "audio/wav"))
        arguments = {"image_url": image_url, "audio_url": audio_url, "resolution": self._resolution}
        request = await self._fal.submit(self._model, arguments)
        log.info("omnihuman render queued", request_id=request.request_id, speech_seconds=round(seconds, 2))
        return request.dumps()

    async def collect(self, request_id: str, *, workdir: Path) -> RenderedVideo | None:
        request = _request(request_id)
        output = await self._fal.poll(request)
        if output is None:
            return None
        url = _video_url(output)
        path = workdir / f"omnihuman-{_UNSAFE.sub('_', request.request_id)[:64]}.mp4"
        await self._fal.download(url, path, max_bytes=self._max_video_bytes)
        try:
            info = await probe(path, ffprobe=self._ffprobe)
        except MediaProblem as exc:
            path.unlink(missing_ok=True)
            raise ProviderError("video_failed", f"OmniHuman's video is unreadable: {exc}") from None
        if not info.has_video or info.width is None or info.height is None:
            path.unlink(missing_ok=True)
            raise ProviderError("video_failed", f"OmniHuman's file has no video stream ({info.format_name})")
        duration = info.duration or _float(output.get("duration")) or 0.0
        log.info("omnihuman render collected", request_id=request.request_id, seconds=round(duration, 2))
        return RenderedVideo(
            path=path, duration=duration, width=info.width, height=info.height, provider=self.name
        )

    async def cancel(self, request_id: str) -> None:
        """Ask fal to drop a render nobody waits for any more (best effort: fal may have started it)."""
        await self._fal.cancel(_request(request_id))

    async def _speech_seconds(self, speech: Path) -> float:
        try:
            return await probe_duration(speech, ffprobe=self._ffprobe)
        except MediaProblem as exc:
            raise ProviderError("video_failed", f"the speech cannot be read: {exc}") from None


def _request(request_id: str) -> FalRequest:
    try:
        return FalRequest.loads(request_id)
    except ValueError as exc:
        raise ProviderError("video_failed", f"stored OmniHuman request: {exc}") from None


def _video_url(output: dict[str, Any]) -> str:
    video = output.get("video")
    url = video.get("url") if isinstance(video, dict) else None
    if not isinstance(url, str) or not url:
        raise ProviderError("video_failed", "OmniHuman's result has no video URL")
    return url


def _content_type(path: Path, fallback: str) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or fallback


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None
