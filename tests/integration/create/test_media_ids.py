"""The Redis file_id store aiogram-dialog asks before uploading: shared, per bot, stale on change."""

from __future__ import annotations

import os
from pathlib import Path

from aiogram.types import ContentType
from aiogram_dialog.api.entities import MediaId
from redis.asyncio import Redis

from app.telegram.media_ids import RedisMediaIdStorage

PHOTO = ContentType.PHOTO


async def test_a_saved_file_id_is_found_by_another_instance(redis: Redis, tmp_path: Path) -> None:
    portrait = tmp_path / "anna.jpg"
    portrait.write_bytes(b"jpeg")
    await RedisMediaIdStorage(redis, namespace="1").save_media_id(
        str(portrait), None, PHOTO, MediaId("AgAC1", "u1")
    )

    found = await RedisMediaIdStorage(redis, namespace="1").get_media_id(str(portrait), None, PHOTO)

    assert found == MediaId("AgAC1", "u1")


async def test_entries_are_per_bot_per_type_and_per_source(redis: Redis, tmp_path: Path) -> None:
    storage = RedisMediaIdStorage(redis, namespace="1")
    await storage.save_media_id(None, "https://example.com/a.jpg", PHOTO, MediaId("AgAC1", "u1"))

    assert (
        await RedisMediaIdStorage(redis, namespace="2").get_media_id(None, "https://example.com/a.jpg", PHOTO)
        is None
    )
    assert await storage.get_media_id(None, "https://example.com/a.jpg", ContentType.DOCUMENT) is None
    assert await storage.get_media_id(None, "https://example.com/b.jpg", PHOTO) is None
    assert await storage.get_media_id(None, None, PHOTO) is None


async def test_a_replaced_file_is_uploaded_again(redis: Redis, tmp_path: Path) -> None:
    storage = RedisMediaIdStorage(redis, namespace="1")
    portrait = tmp_path / "anna.jpg"
    portrait.write_bytes(b"old")
    await storage.save_media_id(str(portrait), None, PHOTO, MediaId("AgAC1", "u1"))

    portrait.write_bytes(b"new photo")
    stat = portrait.stat()
    os.utime(portrait, (stat.st_atime, stat.st_mtime + 10))

    assert await storage.get_media_id(str(portrait), None, PHOTO) is None


async def test_garbage_in_redis_counts_as_not_uploaded(redis: Redis, tmp_path: Path) -> None:
    storage = RedisMediaIdStorage(redis, namespace="1")
    await redis.hset("media_ids:1", f"photo|{tmp_path}/x.jpg|", "not json")

    assert await storage.get_media_id(f"{tmp_path}/x.jpg", None, PHOTO) is None
