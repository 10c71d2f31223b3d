"""Look edits by nano-banana (Gemini image) on fal.ai: the still and the prompt in, one edited image out.

A refusal is the model's answer, not a fault: fal says so with a content/policy error, or the model answers
with text only (no image, its ``description`` saying why). Both become :class:`EditRefused`, so the caller
refunds the user and shows the reason instead of retrying.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from app.logs import get_logger
from app.services.fal.inputs import FalInputs
from app.services.fal.queue import FalQueueClient, FalRequest
from app.services.providers import EditedImage, EditRefused, ProviderCost, ProviderError

log = get_logger(__name__)

MODEL = "fal-ai/nano-banana/edit"
MODEL_PRO = "fal-ai/nano-banana-pro/edit"
# USD per image, for the cost ledger. Both UNVERIFIED (third-party price lists; docs/external-apis.md §2).
PRICE_PER_IMAGE: dict[str, float] = {MODEL: 0.039, MODEL_PRO: 0.15}
OutputFormat = Literal["jpeg", "png", "webp"]
SUFFIXES: dict[str, str] = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}
ASPECT_RATIOS = frozenset({"auto", "21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16"})
MAX_IMAGE_BYTES = 50 * 1024 * 1024
DETAIL_LIMIT = 600
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")

Sleep = Callable[[float], Awaitable[None]]


class NanoBananaEditor:
    """``ImageEditor`` on fal.ai's nano-banana edit model; waits for the edit by polling the queue."""

    name = "nano-banana"

    def __init__(
        self,
        fal: FalQueueClient,
        inputs: FalInputs,
        *,
        model: str = MODEL,
        output_format: OutputFormat = "png",
        aspect_ratio: str = "9:16",
        poll_interval: float = 1.0,
        timeout: float = 120.0,
        sleep: Sleep = asyncio.sleep,
        max_image_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        if model not in PRICE_PER_IMAGE:
            raise ValueError(f"nano-banana model must be one of {sorted(PRICE_PER_IMAGE)}, not {model!r}")
        if output_format not in SUFFIXES:
            raise ValueError(f"output_format must be one of {sorted(SUFFIXES)}, not {output_format!r}")
        if aspect_ratio not in ASPECT_RATIOS:
            raise ValueError(f"aspect_ratio must be one of {sorted(ASPECT_RATIOS)}, not {aspect_ratio!r}")
        if poll_interval <= 0 or timeout <= 0:
            raise ValueError("poll_interval and timeout must be positive")
        self._fal = fal
        self._inputs = inputs
        self._model = model
        self._format: OutputFormat = output_format
        self._aspect_ratio = aspect_ratio
        self._poll_interval = poll_interval
        self._timeout = timeout
        self._sleep = sleep
        self._max_image_bytes = max_image_bytes

    def __repr__(self) -> str:
        return f"NanoBananaEditor(model={self._model!r}, aspect_ratio={self._aspect_ratio!r})"

    async def edit(self, image: Path, prompt: str, *, workdir: Path) -> EditedImage:
        """The edited image in ``workdir``; EditRefused for a safety refusal, ProviderError otherwise."""
        url = await self._inputs.url_for(image, _content_type(image))
        arguments = {
            "prompt": prompt,
            "image_urls": [url],
            "num_images": 1,
            "output_format": self._format,
            "aspect_ratio": self._aspect_ratio,
        }
        with _edit_errors():
            request = await self._fal.submit(self._model, arguments)
            output = await self._wait(request)
        file = _first_image(output)
        if file is None:
            description = str(output.get("description") or "").strip() or "the model returned no image"
            log.info("nano-banana refused the edit", request_id=request.request_id)
            raise EditRefused("content_refused", f"nano-banana: {description}"[:DETAIL_LIMIT])
        path = workdir / f"nano-banana-{_UNSAFE.sub('_', request.request_id)[:64]}{SUFFIXES[self._format]}"
        with _edit_errors():
            await self._fal.download(file, path, max_bytes=self._max_image_bytes)
        try:
            size = await asyncio.to_thread(_image_size, path)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            path.unlink(missing_ok=True)
            raise ProviderError("edit_failed", f"nano-banana's image is unreadable: {exc}") from None
        log.info("nano-banana edit done", request_id=request.request_id, width=size[0], height=size[1])
        cost = ProviderCost(
            provider="fal",
            model=self._model,
            units=1,
            unit="images",
            usd=PRICE_PER_IMAGE[self._model],
            request_id=request.request_id,
        )
        return EditedImage(path=path, note="", provider=self.name, cost=cost)

    async def _wait(self, request: FalRequest) -> dict[str, Any]:
        """The output once fal is done; an edit that outlasts ``timeout`` is cancelled (best effort)."""
        waited = 0.0
        while True:
            output = await self._fal.poll(request)
            if output is not None:
                return output
            if waited >= self._timeout:
                break
            await self._sleep(self._poll_interval)
            waited += self._poll_interval  # counted, not measured: an injected sleep keeps tests instant
        try:
            await self._fal.cancel(request)
        except ProviderError as exc:
            log.warning("nano-banana edit not cancelled", request_id=request.request_id, error=str(exc))
        raise ProviderError(
            "provider_unavailable",
            f"nano-banana edit {request.request_id} not done within {self._timeout:g} s",
            transient=True,
        )


@contextmanager
def _edit_errors() -> Iterator[None]:
    """fal's errors as an image editor's: a refusal becomes EditRefused, a failed run an edit failure."""
    try:
        yield
    except EditRefused:
        raise
    except ProviderError as exc:
        if exc.reason == "content_refused":
            raise EditRefused("content_refused", exc.detail) from None
        if exc.reason == "video_failed":  # the queue client's word for "the run failed", whatever it made
            raise ProviderError("edit_failed", exc.detail, transient=exc.transient) from None
        raise


def _first_image(output: dict[str, Any]) -> str | None:
    images = output.get("images")
    if not isinstance(images, list) or not images or not isinstance(images[0], dict):
        return None
    url = images[0].get("url")
    return url if isinstance(url, str) and url else None


def _image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:  # verify() leaves the image unusable: open again for its size
        return image.size


def _content_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "image/jpeg"
