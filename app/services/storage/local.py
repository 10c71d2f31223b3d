"""``ObjectStorage`` on a local directory: one file per key, written atomically (temp file + rename).

With a public address and a signing key it also hands out signed URLs, served by ``LocalFilesRoute``
(``GET /files/<key>``), so fal.ai can fetch from the embedded storage as it would from a bucket.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from app.services.clock import Clock, SystemClock
from app.services.providers import StoredObject
from app.services.storage.keys import validate_key
from app.services.storage.signing import UrlSigner

FILES_PATH = "/files/"


class LocalStorage:
    """Objects under ``root``; a reader never sees a half-written file, even if the writer dies mid-copy.

    ``public_url`` is where this bot's web server is reachable from outside (``https://bot.example.com``);
    with it and ``signing_key`` the storage signs URLs under ``<public_url>/files/``. Every process that
    signs or serves them must be given the same key.
    """

    def __init__(
        self,
        root: Path,
        *,
        public_url: str | None = None,
        signing_key: bytes | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._root = root.resolve()
        self._public_url = _base_url(public_url) if public_url else None
        self._signer = (
            UrlSigner(signing_key, clock or SystemClock()) if self._public_url and signing_key else None
        )

    def __repr__(self) -> str:
        return f"LocalStorage(root={str(self._root)!r}, public_url={self._public_url!r})"

    @property
    def root(self) -> Path:
        return self._root

    @property
    def signer(self) -> UrlSigner | None:
        """What checks the URLs this storage signs; None when it hands out no URLs."""
        return self._signer

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
        """A signed ``/files/`` URL valid for ``expires`` seconds (1–604800); None without a public address.

        Like a presigned S3 URL it is made locally and says nothing about whether the object exists.
        """
        validate_key(key)
        if self._signer is None or self._public_url is None:
            return None
        expires_ts, signature = self._signer.sign(key, expires)
        query = urlencode({"expires": expires_ts, "signature": signature})
        return f"{self._public_url}{FILES_PATH}{quote(key, safe='/')}?{query}"

    def file_for(self, key: str) -> Path | None:
        """The object's file when the key is safe and the object is there; None otherwise (never raises)."""
        try:
            path = self._path(key)
        except (ValueError, PermissionError, OSError):
            return None
        return path if path.is_file() else None

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


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"public_url must be an http(s) URL without query, got {url!r}")
    return url.rstrip("/")


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
