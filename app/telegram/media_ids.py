"""Telegram file_ids of uploaded media kept in Redis: every bot process re-sends what any of them uploaded.

Same semantics as aiogram-dialog's in-process ``MediaIdStorage``: keyed by path or URL and content type; an
entry saved for a local file is ignored once the file's mtime changed (the file was replaced: upload again).
"""

from __future__ import annotations

import json
import os
from typing import Any

from aiogram.types import ContentType
from aiogram_dialog.api.entities import MediaId
from aiogram_dialog.api.protocols import MediaIdStorageProtocol
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.logs import get_logger

log = get_logger(__name__)

KEY_PREFIX = "media_ids"


def _mtime(path: str | None) -> float | None:
    if not path:
        return None
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


class RedisMediaIdStorage(MediaIdStorageProtocol):
    """One Redis hash per bot: field ``<type>|<path>|<url>`` → file_id, file_unique_id, the file's mtime."""

    def __init__(self, redis: Redis, *, namespace: str) -> None:
        # file_ids belong to one bot: the namespace (the bot id) keeps bots sharing a Redis apart.
        self._redis = redis
        self._key = f"{KEY_PREFIX}:{namespace}"

    @staticmethod
    def _field(path: str | None, url: str | None, type: ContentType) -> str:
        return f"{ContentType(type).value}|{path or ''}|{url or ''}"

    async def get_media_id(self, path: str | None, url: str | None, type: ContentType) -> MediaId | None:
        if not path and not url:
            return None
        try:
            raw = await self._redis.hget(self._key, self._field(path, url, type))  # type: ignore[misc]
        except RedisError as exc:  # a cache miss costs one upload; it must never cost the user the window
            log.warning("media ids: lookup failed, uploading again", error=str(exc))
            return None
        if raw is None:
            return None
        try:
            entry: dict[str, Any] = json.loads(raw)
            media_id = MediaId(str(entry["file_id"]), entry.get("file_unique_id"))
        except (ValueError, KeyError, TypeError):
            return None
        saved_mtime = entry.get("mtime")
        if saved_mtime is not None:
            current = _mtime(path)
            if current is not None and current != saved_mtime:
                return None
        return media_id

    async def save_media_id(
        self,
        path: str | None,
        url: str | None,
        type: ContentType,
        media_id: MediaId,
    ) -> None:
        if not path and not url:
            return
        entry = {
            "file_id": media_id.file_id,
            "file_unique_id": media_id.file_unique_id,
            "mtime": _mtime(path),
        }
        try:
            await self._redis.hset(self._key, self._field(path, url, type), json.dumps(entry))  # type: ignore[misc]
        except RedisError as exc:
            log.warning("media ids: not saved, the next show uploads again", error=str(exc))
