"""What every ``ObjectStorage`` promises, run against each implementation: a directory and an S3 bucket."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.services.providers import ObjectStorage
from app.services.storage.keys import draft_key, generation_key
from app.services.storage.local import LocalStorage

CONTENT = bytes(range(256)) * 4096 + b"tail"


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    if request.param == "local":
        return LocalStorage(tmp_path / "objects")
    s3: ObjectStorage = request.getfixturevalue("s3_storage")
    return s3


def source(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


async def test_what_is_put_comes_back_byte_for_byte(storage: ObjectStorage, tmp_path: Path) -> None:
    key = generation_key(5, 6, "video.mp4")

    stored = await storage.put_file(key, source(tmp_path, "in.mp4", CONTENT), content_type="video/mp4")
    back = await storage.get_file(key, tmp_path / "out" / "video.mp4")

    assert (stored.key, stored.size, stored.content_type) == (key, len(CONTENT), "video/mp4")
    assert back.read_bytes() == CONTENT
    assert [p.name for p in back.parent.iterdir()] == ["video.mp4"]


async def test_exists_follows_put_and_delete(storage: ObjectStorage, tmp_path: Path) -> None:
    key = draft_key(5, "d9", "speech.ogg")
    neighbour = draft_key(5, "d9", "upload.mp4")
    assert not await storage.exists(key)

    await storage.put_file(key, source(tmp_path, "s", b"ogg"), content_type="audio/ogg")
    await storage.put_file(neighbour, source(tmp_path, "u", b"mp4"), content_type="video/mp4")
    assert await storage.exists(key)

    await storage.delete(key)
    await storage.delete(key)  # deleting what is gone is not an error

    assert not await storage.exists(key)
    assert await storage.exists(neighbour)


async def test_a_missing_object_is_file_not_found_and_creates_nothing(
    storage: ObjectStorage, tmp_path: Path
) -> None:
    dest = tmp_path / "out" / "none.mp4"

    with pytest.raises(FileNotFoundError):
        await storage.get_file(generation_key(5, 6, "none.mp4"), dest)

    assert not dest.exists()


async def test_only_a_remote_storage_gives_a_url_and_only_a_local_one_a_path(
    storage: ObjectStorage, tmp_path: Path
) -> None:
    key = generation_key(5, 6, "photo.jpg")
    await storage.put_file(key, source(tmp_path, "p.jpg", b"\xff\xd8jpeg"), content_type="image/jpeg")

    url = await storage.presigned_url(key, expires=600)
    path = storage.local_path(key)

    if isinstance(storage, LocalStorage):
        assert url is None
        assert path is not None
        assert path.read_bytes() == b"\xff\xd8jpeg"
    else:
        assert path is None
        assert url is not None
        async with httpx.AsyncClient() as http:
            response = await http.get(url)
        assert (response.status_code, response.content) == (200, b"\xff\xd8jpeg")
        assert response.headers["content-type"] == "image/jpeg"
