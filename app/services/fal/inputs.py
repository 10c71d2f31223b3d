"""How a local file reaches a fal model: an upload to fal's CDN, or a presigned URL of our own storage.

fal's models read their inputs by URL. Uploading to fal costs an extra token call and leaves a copy on fal's
CDN; a presigned URL of our bucket (R2) keeps the file with us and expires on its own. Which one is used is a
setting; the adapters only see :class:`FalInputs`.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import re
from pathlib import Path
from typing import Protocol

from app.services.fal.queue import FalQueueClient
from app.services.providers import ObjectStorage, ProviderError

DEFAULT_PREFIX = "tmp/fal-inputs"  # under tmp/: the bucket's lifecycle rule removes what fal no longer needs
DEFAULT_EXPIRES = 3600
_CHUNK = 1024 * 1024
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}")


class FalInputs(Protocol):
    """Turns a local file into a URL a fal model can GET."""

    async def url_for(self, path: Path, content_type: str) -> str: ...


class FalUploads:
    """``FalInputs`` by fal's own storage (the official client's way)."""

    def __init__(self, fal: FalQueueClient) -> None:
        self._fal = fal

    def __repr__(self) -> str:
        return "FalUploads()"

    async def url_for(self, path: Path, content_type: str) -> str:
        return await self._fal.upload(path, content_type)


class PresignedInputs:
    """``FalInputs`` by our object storage: the file is stored once by content, fal gets a presigned GET URL.

    The key is the SHA-256 of the content, so sending the same still twice (a retry, a second generation)
    stores it once; the URL is signed for each call, so it never outlives ``expires``.
    """

    def __init__(
        self, storage: ObjectStorage, *, expires: int = DEFAULT_EXPIRES, prefix: str = DEFAULT_PREFIX
    ) -> None:
        if expires < 1:
            raise ValueError(f"presigned URLs must last at least 1 second, not {expires}")
        self._storage = storage
        self._expires = expires
        self._prefix = prefix.strip("/")

    def __repr__(self) -> str:
        return f"PresignedInputs(prefix={self._prefix!r}, expires={self._expires})"

    async def url_for(self, path: Path, content_type: str) -> str:
        try:
            digest = await asyncio.to_thread(_sha256, path)
        except OSError as exc:
            raise ProviderError("missing_file", f"{path.name}: {exc.strerror or exc}") from None
        key = f"{self._prefix}/{digest}{_extension(path, content_type)}"
        # Signing is local (no request): learn that the storage cannot serve URLs before uploading anything.
        url = await self._storage.presigned_url(key, expires=self._expires)
        if url is None:
            raise ProviderError(
                "storage_failed",
                f"{type(self._storage).__name__} has no public URLs: fal cannot read {path.name} from it",
            )
        if not await self._storage.exists(key):
            await self._storage.put_file(key, path, content_type=content_type)
        return url


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _extension(path: Path, content_type: str) -> str:
    """The file's own extension when key-safe, else one from the content type (fal's models sniff both)."""
    suffix = path.suffix.lower()
    if _EXTENSION.fullmatch(suffix):
        return suffix
    guessed = mimetypes.guess_extension(content_type.split(";", maxsplit=1)[0].strip()) or ""
    return guessed if _EXTENSION.fullmatch(guessed) else ""
