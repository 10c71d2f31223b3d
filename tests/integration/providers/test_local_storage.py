"""The local object storage on a real directory: keys stay inside the root, readers never see half a file."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.services.storage.keys import StorageKeyError, draft_key, generation_key
from app.services.storage.local import LocalStorage
from app.services.storage.signing import derive_signing_key

SIGNING_KEY = derive_signing_key("a-secret-every-process-shares")


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "objects")


def source(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


async def test_a_stored_file_can_be_read_back_by_path_and_by_copy(
    storage: LocalStorage, tmp_path: Path
) -> None:
    key = generation_key(7, 42, "video.mp4")

    stored = await storage.put_file(key, source(tmp_path, "v.mp4", b"moov mdat"), content_type="video/mp4")

    assert (stored.key, stored.size, stored.content_type) == (key, 9, "video/mp4")
    assert await storage.exists(key)
    local = storage.local_path(key)
    assert local is not None
    assert local == storage.root / "users" / "7" / "generations" / "42" / "video.mp4"
    assert local.read_bytes() == b"moov mdat"
    copy = await storage.get_file(key, tmp_path / "back" / "copy.mp4")
    assert copy.read_bytes() == b"moov mdat"
    assert (tmp_path / "v.mp4").exists()  # the source is copied, not moved


async def test_a_missing_object_does_not_exist_and_cannot_be_fetched(
    storage: LocalStorage, tmp_path: Path
) -> None:
    key = draft_key(7, "d1", "speech.ogg")

    assert not await storage.exists(key)
    with pytest.raises(FileNotFoundError):
        await storage.get_file(key, tmp_path / "x")


async def test_delete_removes_the_object_and_its_empty_folders_only(
    storage: LocalStorage, tmp_path: Path
) -> None:
    kept = draft_key(7, "d1", "upload.mp4")
    gone = draft_key(7, "d2", "speech.ogg")
    await storage.put_file(kept, source(tmp_path, "a", b"a"), content_type="video/mp4")
    await storage.put_file(gone, source(tmp_path, "b", b"b"), content_type="audio/ogg")

    await storage.delete(gone)
    await storage.delete(gone)  # twice is fine

    assert not await storage.exists(gone)
    assert await storage.exists(kept)
    assert not (storage.root / "tmp" / "users" / "7" / "drafts" / "d2").exists()
    assert storage.root.exists()


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "users/7/../../../etc/passwd",
        "/etc/passwd",
        "users//7",
        "users/./7",
        "users/7/",
        "",
        "users/7/видео.mp4",
        "users/7/my video.mp4",
        "users\\7",
        "users/7/x.mp4\x00.txt",
        "a" * 600,
    ],
)
async def test_unsafe_keys_are_refused_everywhere(storage: LocalStorage, tmp_path: Path, key: str) -> None:
    src = source(tmp_path, "s", b"x")

    with pytest.raises(StorageKeyError):
        await storage.put_file(key, src, content_type="text/plain")
    with pytest.raises(StorageKeyError):
        await storage.get_file(key, tmp_path / "out")
    with pytest.raises(StorageKeyError):
        await storage.exists(key)
    with pytest.raises(StorageKeyError):
        await storage.delete(key)
    with pytest.raises(StorageKeyError):
        storage.local_path(key)
    with pytest.raises(StorageKeyError):
        await storage.presigned_url(key, expires=60)
    assert not (tmp_path / "etc").exists()


async def test_a_symlink_planted_in_the_root_does_not_lead_outside(
    storage: LocalStorage, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    storage.root.mkdir(parents=True)
    (storage.root / "users").symlink_to(outside, target_is_directory=True)

    with pytest.raises(PermissionError):
        await storage.put_file("users/7/x.txt", source(tmp_path, "s", b"x"), content_type="text/plain")

    assert list(outside.iterdir()) == []


async def test_a_write_that_fails_midway_leaves_the_old_object_whole(
    storage: LocalStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generation_key(1, 2, "video.mp4")
    await storage.put_file(key, source(tmp_path, "old", b"old video"), content_type="video/mp4")

    def copy_half_then_fail(src: object, dst: object, length: int = 0) -> None:
        dst.write(b"new vi")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", copy_half_then_fail)

    with pytest.raises(OSError, match="No space left"):
        await storage.put_file(key, source(tmp_path, "new", b"new video"), content_type="video/mp4")

    local = storage.local_path(key)
    assert local is not None
    assert local.read_bytes() == b"old video"
    assert os.listdir(local.parent) == ["video.mp4"]  # no temp file left behind


async def test_readers_never_see_a_half_written_object(storage: LocalStorage, tmp_path: Path) -> None:
    key = generation_key(1, 2, "video.mp4")
    versions = [bytes([n]) * 3_000_000 for n in (1, 2)]
    sources = [source(tmp_path, f"v{n}", content) for n, content in enumerate(versions)]
    await storage.put_file(key, sources[0], content_type="video/mp4")
    local = storage.local_path(key)
    assert local is not None
    seen: set[int] = set()

    async def writer() -> None:
        for round_ in range(12):
            await storage.put_file(key, sources[round_ % 2], content_type="video/mp4")

    async def reader() -> None:
        for _ in range(40):
            data = await asyncio.to_thread(local.read_bytes)
            assert data in versions, f"read {len(data)} bytes mixing versions"
            seen.add(data[0])
            await asyncio.sleep(0)

    await asyncio.gather(writer(), reader())

    assert seen  # the reader did read while the writer was busy


@pytest.mark.parametrize(
    ("public_url", "signing_key"), [(None, None), ("https://bot.example.com", None), (None, SIGNING_KEY)]
)
async def test_without_both_a_public_address_and_a_key_there_is_no_url(
    tmp_path: Path, public_url: str | None, signing_key: bytes | None
) -> None:
    storage = LocalStorage(tmp_path, public_url=public_url, signing_key=signing_key)

    assert await storage.presigned_url(generation_key(1, 2, "video.mp4"), expires=600) is None
    assert storage.signer is None


async def test_with_a_public_address_the_url_points_at_the_files_route(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, public_url="https://bot.example.com/ugc/", signing_key=SIGNING_KEY)

    url = await storage.presigned_url(draft_key(7, "d-1_a", "speech.ogg"), expires=600)

    assert url is not None
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "bot.example.com")
    assert parts.path == "/ugc/files/tmp/users/7/drafts/d-1_a/speech.ogg"
    assert sorted(parse_qs(parts.query)) == ["expires", "signature"]


@pytest.mark.parametrize("public_url", ["ftp://bot.example.com", "bot.example.com", "https://x.example/?a=1"])
def test_a_public_address_that_is_not_a_plain_http_url_is_refused(tmp_path: Path, public_url: str) -> None:
    with pytest.raises(ValueError, match="public_url"):
        LocalStorage(tmp_path, public_url=public_url, signing_key=SIGNING_KEY)
