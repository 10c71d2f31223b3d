"""Files the bot and users sent: kept in a directory, with Telegram-like file_ids, probed by ffprobe."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import mimetypes
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Telegram's file_ids start with a per-type prefix; mimicking it keeps ids looking (and sized) like real ones.
_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAA",
    "video": "BAACAgIAAxkBAA",
    "animation": "CgACAgIAAxkBAA",
    "audio": "CQACAgIAAxkBAA",
    "voice": "AwACAgIAAxkBAA",
    "document": "BQACAgIAAxkBAA",
    "video_note": "DQACAgIAAxkBAA",
    "sticker": "CAACAgIAAxkBAA",
}
_DIRS = {
    "photo": ("photos", ".jpg", "image/jpeg"),
    "video": ("videos", ".mp4", "video/mp4"),
    "animation": ("animations", ".mp4", "video/mp4"),
    "audio": ("music", ".mp3", "audio/mpeg"),
    "voice": ("voice", ".oga", "audio/ogg"),
    "document": ("documents", "", "application/octet-stream"),
    "video_note": ("video_notes", ".mp4", "video/mp4"),
    "sticker": ("stickers", ".webp", "image/webp"),
}
KINDS = tuple(_DIRS)
_PROBED = {"photo", "video", "animation", "audio", "voice", "video_note"}
PROBE_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Probe:
    """What ffprobe found; zeros when it could not read the file (tiny test files)."""

    width: int = 0
    height: int = 0
    duration: int = 0


@dataclass(slots=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    disk_path: Path
    size: int
    mime_type: str
    file_name: str | None
    file_path: str
    probe: Probe


async def probe_media(path: Path) -> Probe:
    """Width, height and whole-second duration of a media file; zeros when ffprobe is missing or fails."""
    binary = shutil.which("ffprobe")
    if binary is None:
        return Probe()
    proc = await asyncio.create_subprocess_exec(
        binary,
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), PROBE_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return Probe()
    if proc.returncode != 0:
        return Probe()
    try:
        info: dict[str, Any] = json.loads(out or b"{}")
    except json.JSONDecodeError:
        return Probe()
    width = height = 0
    duration = 0.0
    for stream in info.get("streams", []):
        if stream.get("codec_type") == "video" and not width:
            width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
        with contextlib.suppress(TypeError, ValueError):
            duration = max(duration, float(stream.get("duration") or 0))
    with contextlib.suppress(TypeError, ValueError):
        duration = max(duration, float(info.get("format", {}).get("duration") or 0))
    return Probe(width, height, round(duration))


class FileStore:
    """All files of one server; a temporary directory unless one is given."""

    def __init__(self, root: Path | None = None) -> None:
        self._owned = root is None
        self.root = Path(tempfile.mkdtemp(prefix="localtg-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        self.incoming = self.root / "incoming"
        self.incoming.mkdir(exist_ok=True)
        self._by_id: dict[str, StoredFile] = {}
        self._by_unique: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = 0

    def new_incoming_path(self) -> Path:
        """A fresh path where a request's file part is streamed before it becomes a stored file."""
        return self.incoming / secrets.token_hex(12)

    async def add(
        self, source: Path, *, kind: str, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        """Take ownership of ``source`` (moved into the store) and give it a file_id."""
        folder, default_ext, default_mime = _DIRS[kind]
        self._counter += 1
        ext = Path(file_name).suffix if file_name and Path(file_name).suffix else default_ext
        file_path = f"{folder}/file_{self._counter}{ext}"
        target = self.root / file_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)
        guessed = mimetypes.guess_type(file_name)[0] if file_name else None
        if kind in ("photo", "voice", "video_note", "sticker"):
            mime = default_mime
        else:
            mime = guessed or (
                mime_type if mime_type and mime_type != "application/octet-stream" else default_mime
            )
        probe = await probe_media(target) if kind in _PROBED else Probe()
        stored = StoredFile(
            file_id=self._new_file_id(kind),
            file_unique_id="AQAD" + secrets.token_urlsafe(9)[:12],
            kind=kind,
            disk_path=target,
            size=target.stat().st_size,
            mime_type=mime,
            file_name=file_name,
            file_path=file_path,
            probe=probe,
        )
        self._by_id[stored.file_id] = stored
        self._by_unique[stored.file_unique_id] = stored
        self._by_path[file_path] = stored
        return stored

    def _new_file_id(self, kind: str) -> str:
        body = base64.urlsafe_b64encode(secrets.token_bytes(45)).decode().rstrip("=")
        return _ID_PREFIX[kind] + body

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_unique_id(self, file_unique_id: str) -> StoredFile | None:
        return self._by_unique.get(file_unique_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)

    def clear(self) -> None:
        for stored in self._by_id.values():
            stored.disk_path.unlink(missing_ok=True)
        self._by_id.clear()
        self._by_unique.clear()
        self._by_path.clear()

    def close(self) -> None:
        """Forget every file; a temporary root is deleted."""
        self.clear()
        if self._owned:
            shutil.rmtree(self.root, ignore_errors=True)
