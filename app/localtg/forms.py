"""Reading Bot API requests like Telegram: query string, url-encoded, JSON or multipart with file parts.

File parts are streamed to disk; a part over the limit is drained and discarded so the client still gets
Telegram's JSON 413 instead of a broken connection.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from app.localtg.errors import ENTITY_TOO_LARGE, bad_request
from app.localtg.files import FileStore, StoredFile

CHUNK = 256 * 1024


@dataclass(slots=True)
class Upload:
    """One file part of a multipart request."""

    name: str
    filename: str | None
    content_type: str | None
    path: Path | None
    size: int
    stored: dict[str, StoredFile] = field(default_factory=dict)


@dataclass(slots=True)
class Form:
    values: dict[str, Any] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    body_bytes: int = 0
    too_large: bool = False

    def discard(self) -> None:
        """Delete the uploads nobody took into the file store."""
        for upload in self.uploads.values():
            if upload.path is not None:
                upload.path.unlink(missing_ok=True)


async def _read_file_part(part: BodyPartReader, store: FileStore, max_bytes: int) -> tuple[Path | None, int]:
    path = store.new_incoming_path()
    size = 0
    # Chunks are written as they arrive: a 50 MB upload never sits in memory whole.
    with path.open("wb") as sink:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size <= max_bytes:
                sink.write(chunk)
    if size > max_bytes:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        return None, size
    return path, size


async def read_multipart(reader: MultipartReader, store: FileStore, max_file_bytes: int, form: Form) -> None:
    """Fill ``form`` from a multipart body; files above ``max_file_bytes`` mark the form ``too_large``."""
    while True:
        part = await reader.next()
        if part is None:
            return
        if not isinstance(part, BodyPartReader):
            await part.release()
            continue
        name = part.name or ""
        if part.filename is None:
            value = await part.text()
            form.values[name] = value
            form.body_bytes += len(value)
            continue
        path, size = await _read_file_part(part, store, max_file_bytes)
        form.body_bytes += size
        if path is None:
            form.too_large = True
        form.uploads[name] = Upload(name, part.filename, part.headers.get("Content-Type"), path, size)


async def read_request(request: web.Request, store: FileStore, max_file_bytes: int) -> Form:
    """Every argument of a Bot API call; raises Telegram's 413 when a file is over ``max_file_bytes``."""
    form = Form(values=dict(request.query))
    if request.method == "POST" and request.body_exists:
        content_type = request.content_type
        if content_type == "multipart/form-data":
            await read_multipart(await request.multipart(), store, max_file_bytes, form)
        elif content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError as exc:
                raise bad_request("can't parse JSON encoded request") from exc
            if not isinstance(body, dict):
                raise bad_request("JSON object expected in the request body")
            form.values.update(body)
            form.body_bytes = request.content_length or 0
        else:
            posted = await request.post()
            form.values.update({k: v for k, v in posted.items() if isinstance(v, str)})
            form.body_bytes = request.content_length or 0
    if form.too_large:
        form.discard()
        raise ENTITY_TOO_LARGE
    return form


class Params:
    """Typed access to a form's arguments with Telegram's error wordings."""

    def __init__(self, form: Form) -> None:
        self.form = form

    def raw(self, name: str) -> Any:
        return self.form.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.form.values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)

    def integer(self, name: str, *, invalid: str | None = None) -> int | None:
        value = self.form.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(invalid or f"{name} is not a valid Integer") from exc

    def flag(self, name: str) -> bool:
        value = self.form.values.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1") if value is not None else False

    def json(self, name: str, *, invalid: str) -> Any:
        value = self.form.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise bad_request(invalid) from exc
