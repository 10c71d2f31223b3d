"""``LocalCopies``: a path on this machine for a stored object, for what must be sent or read as a file.

Telegram uploads and ffmpeg need files. Local storage hands out its own paths; S3 objects are downloaded
once into a cache folder (named after the key, so every process on the machine finds the same copy and
aiogram-dialog's file-id cache, keyed by path, hits across processes). The temp cleanup removes old copies.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.services.providers import ObjectStorage
from app.services.storage.keys import validate_key


class LocalCopies:
    def __init__(self, storage: ObjectStorage, cache_dir: Path) -> None:
        self._storage = storage
        self._cache = cache_dir.resolve()

    async def path(self, key: str | None) -> Path | None:
        """The object's local path, downloading it if need be; None for no key or a missing object."""
        if not key:
            return None
        local = self._storage.local_path(key)
        if local is not None:
            return local if await asyncio.to_thread(local.is_file) else None
        target = self._cache / validate_key(key)
        if await asyncio.to_thread(target.is_file):
            return target
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        try:
            await self._storage.get_file(key, target)
        except FileNotFoundError:
            return None
        return target
