"""Talking videos by ByteDance OmniHuman (v1.5, or v1) on fal.ai: hand over the still and the speech, queue,
collect — by polling, or from fal's webhook.

:meth:`OmniHumanVideo.submit` returns the whole fal request (id and URLs) as one string, so a restarted
worker can collect a render it submitted before, without paying for it twice.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from app.logs import get_logger
from app.services.fal.inputs import FalInputs, FalUploads
from app.services.fal.queue import REFUSAL_WORDS, FalQueueClient, FalRequest, FalStatus, run_failure
from app.services.fal.webhook import FalWebhookEvent
from app.services.media_probe import MediaProblem, probe, probe_duration
from app.services.providers import ProviderCost, ProviderError, RenderedVideo

log = get_logger(__name__)

MODEL = "fal-ai/bytedance/omnihuman/v1.5"
MODEL_V1 = "fal-ai/bytedance/omnihuman"
# USD per second of video, for the cost ledger. v1.5: fal's model page. v1: UNVERIFIED (third-party list).
PRICE_PER_SECOND: dict[str, float] = {MODEL: 0.16, MODEL_V1: 0.14}
Resolution = Literal["720p", "1080p"]
# fal's limits: audio under 60 s at 720p, under 30 s at 1080p (v1.5); v1 has no resolution and takes < 30 s.
MAX_SPEECH_SECONDS: dict[Resolution, float] = {"720p": 60.0, "1080p": 30.0}
V1_MAX_SPEECH_SECONDS = 30.0
MAX_VIDEO_BYTES = 300 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class OmniHumanVideo:
    """``TalkingVideoMaker`` on fal.ai's OmniHuman: a lip-synced, moving person from one still."""

    name = "omnihuman"

    def __init__(
        self,
        fal: FalQueueClient,
        *,
        inputs: FalInputs | None = None,
        resolution: Resolution = "720p",
        model: str = MODEL,
        webhook_url: str | None = None,
        ffprobe: str = "ffprobe",
        max_video_bytes: int = MAX_VIDEO_BYTES,
    ) -> None:
        """``inputs``: how the still and speech reach fal (default: fal's storage); ``webhook_url``: our
        ``POST /fal/webhook`` address, when fal should call back instead of being polled."""
        if resolution not in MAX_SPEECH_SECONDS:
            raise ValueError(f"OmniHuman renders 720p or 1080p, not {resolution!r}")
        if model not in PRICE_PER_SECOND:
            raise ValueError(f"OmniHuman model must be one of {sorted(PRICE_PER_SECOND)}, not {model!r}")
        self._fal = fal
        self._inputs: FalInputs = inputs if inputs is not None else FalUploads(fal)
        self._resolution: Resolution = resolution
        self._model = model
        self._webhook_url = webhook_url
        self._ffprobe = ffprobe
        self._max_video_bytes = max_video_bytes

    def __repr__(self) -> str:
        return f"OmniHumanVideo(model={self._model!r}, resolution={self._resolution!r})"

    async def submit(self, image: Path, speech: Path, *, workdir: Path, reference: str = "") -> str:
        """Queue a render; speech too long for the model is refused before anything is sent.

        ``reference`` (ours, e.g. ``g42``) rides on the webhook URL as ``ref=…``, so the webhook handler
        knows which generation the render belongs to without a lookup by fal's id.
        """
        seconds = await self._speech_seconds(speech)
        limit, what = self._limit()
        if seconds >= limit:
            raise ProviderError(
                "speech_too_long", f"{seconds:.1f} s of speech; {what} takes less than {limit:g} s"
            )
        image_url = await self._inputs.url_for(image, _content_type(image, "image/jpeg"))
        audio_url = await self._inputs.url_for(speech, _content_type(speech, "audio/wav"))
        arguments = {"image_url": image_url, "audio_url": audio_url}
        if self._model != MODEL_V1:
            arguments["resolution"] = self._resolution
        request = await self._fal.submit(self._model, arguments, webhook_url=self._callback(reference))
        log.info("omnihuman render queued", request_id=request.request_id, speech_seconds=round(seconds, 2))
        return request.dumps()

    async def collect(self, request_id: str, *, workdir: Path) -> RenderedVideo | None:
        request = _request(request_id)
        output = await self._fal.poll(request)
        if output is None:
            return None
        return await self._finish(request, output, workdir)

    async def collect_event(self, request_id: str, event: FalWebhookEvent, *, workdir: Path) -> RenderedVideo:
        """The video a verified webhook announced, without polling; fails as :meth:`collect` would."""
        request = _request(request_id)
        if event.request_id != request.request_id:
            raise ProviderError(
                "internal", f"webhook for {event.request_id} handed to render {request.request_id}"
            )
        if event.failed:
            types = event.error_types
            kind = next((t for t in types if _refusal(t)), types[0] if types else None)
            raise run_failure(FalStatus("COMPLETED", error=event.message, error_type=kind))
        output = event.payload
        if output is None or not isinstance(output.get("video"), dict):
            # fal could not put the output in the webhook (payload_error): the queue still has it.
            output = await self._fal.result(request)
        return await self._finish(request, output, workdir)

    async def _finish(self, request: FalRequest, output: dict[str, Any], workdir: Path) -> RenderedVideo:
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
        cost = ProviderCost(
            provider="fal",
            model=self._model,
            units=round(duration, 3),
            unit="seconds",
            usd=round(duration * PRICE_PER_SECOND[self._model], 4),
            request_id=request.request_id,
        )
        return RenderedVideo(
            path=path, duration=duration, width=info.width, height=info.height, provider=self.name, cost=cost
        )

    async def cancel(self, request_id: str) -> None:
        """Ask fal to drop a render nobody waits for any more (best effort: fal may have started it)."""
        await self._fal.cancel(_request(request_id))

    def _limit(self) -> tuple[float, str]:
        if self._model == MODEL_V1:
            return V1_MAX_SPEECH_SECONDS, "OmniHuman v1"
        return MAX_SPEECH_SECONDS[self._resolution], f"OmniHuman at {self._resolution}"

    def _callback(self, reference: str) -> str | None:
        if not self._webhook_url:
            return None
        if not reference:
            return self._webhook_url
        joiner = "&" if "?" in self._webhook_url else "?"
        return f"{self._webhook_url}{joiner}{urlencode({'ref': reference})}"

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


def _refusal(error_type: str) -> bool:
    return any(word in error_type.lower() for word in REFUSAL_WORDS)


def _content_type(path: Path, fallback: str) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or fallback


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None
