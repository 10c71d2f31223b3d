"""``ObjectStorage`` on a local directory: one file per key, written atomically (temp file + rename)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from app.services.providers import StoredObject
from app.services.storage.keys import validate_key


class LocalStorage:
    """Objects under ``root``; a reader never sees a half-written file, even if the writer dies mid-copy."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    @property
    def root(self) -> Path:
        return self._root

    async def put_file(self, key: str, path: Path, *, content_type: str) -> StoredObject:
        """Copies ``path`` to ``key`` (replacing what was there); the source stays where it is."""
        target = self._path(key)
        size = await asyncio.to_thread(_copy_atomically, path, target)
        return StoredObject(key=key, size=size, content_type=content_type)

    async def get_file(self, key: str, dest: Path) -> Path:
        """Copies the object to ``dest``; FileNotFoundError when there is no such object."""
        source = self._path(key)
        if not source.is_file():
            raise FileNotFoundError(f"no object {key!r}")
        await asyncio.to_thread(_copy_atomically, source, dest)
        return dest

    def local_path(self, key: str) -> Path | None:
        """Where the object lives on this machine (it may not exist yet)."""
        return self._path(key)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def delete(self, key: str) -> None:
        """Removes the object and the directories it leaves empty; a missing object is not an error."""
        target = self._path(key)
        await asyncio.to_thread(self._delete, target)

    async def presigned_url(self, key: str, *, expires: int) -> str | None:
        """A directory on this machine has no URL others can fetch from."""
        return None

    def _path(self, key: str) -> Path:
        path = self._root / validate_key(key)
        # validate_key already rules out "..", this guards against a symlink planted inside the root.
        if not path.resolve().is_relative_to(self._root):
            raise PermissionError(f"key {key!r} resolves outside the storage root")
        return path

    def _delete(self, target: Path) -> None:
        target.unlink(missing_ok=True)
        parent = target.parent
        while parent != self._root and parent.is_relative_to(self._root):
            try:
                parent.rmdir()
            except OSError:  # not empty (or already gone): the rest of the tree is in use
                break
            parent = parent.parent


def _copy_atomically(source: Path, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, length=1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(0o644)
        size = tmp.stat().st_size
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return size
