"""S3Storage against a real S3 API (moto server) and against servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from app.services.storage.keys import StorageKeyError, draft_key, generation_key
from app.services.storage.s3 import S3Storage, StorageError
from tests.support.s3 import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

VIDEO = random.Random(7).randbytes(3 * 1024 * 1024 + 17)  # several download chunks, every byte value


def source(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.fixture
async def raw_s3(s3_endpoint: str) -> AsyncIterator[S3Client]:
    """A plain client, to look at the bucket without going through the code under test."""
    async with get_session().create_client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="auto",
        aws_access_key_id=TEST_ACCESS_KEY_ID,
        aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
    ) as client:
        yield client


async def test_a_binary_file_comes_back_byte_for_byte_with_its_content_type(
    s3_storage: S3Storage, tmp_path: Path
) -> None:
    key = generation_key(7, 42, "video.mp4")

    stored = await s3_storage.put_file(key, source(tmp_path, "v.mp4", VIDEO), content_type="video/mp4")
    back = await s3_storage.get_file(key, tmp_path / "down" / "copy.mp4")

    assert (stored.key, stored.size, stored.content_type) == (key, len(VIDEO), "video/mp4")
    assert back == tmp_path / "down" / "copy.mp4"
    assert back.read_bytes() == VIDEO
    assert leftovers(back.parent) == []
    assert (tmp_path / "v.mp4").exists()  # uploading does not consume the source
    assert s3_storage.local_path(key) is None
    async with httpx.AsyncClient() as http:
        response = await http.get(await s3_storage.presigned_url(key, expires=300))
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.content == VIDEO


async def test_putting_a_key_again_replaces_the_object_and_a_download_replaces_dest(
    s3_storage: S3Storage, tmp_path: Path
) -> None:
    key = generation_key(1, 2, "speech.ogg")
    dest = source(tmp_path, "local.ogg", b"stale local copy")
    await s3_storage.put_file(key, source(tmp_path, "a", b"first take"), content_type="audio/ogg")

    await s3_storage.put_file(key, source(tmp_path, "b", b"second take"), content_type="audio/ogg")
    await s3_storage.get_file(key, dest)

    assert dest.read_bytes() == b"second take"


async def test_exists_and_delete_touch_only_the_named_object(s3_storage: S3Storage, tmp_path: Path) -> None:
    kept = draft_key(7, "d1", "upload.mp4")
    gone = draft_key(7, "d2", "speech.ogg")
    await s3_storage.put_file(kept, source(tmp_path, "a", b"a"), content_type="video/mp4")
    await s3_storage.put_file(gone, source(tmp_path, "b", b"b"), content_type="audio/ogg")
    assert await s3_storage.exists(gone)

    await s3_storage.delete(gone)
    await s3_storage.delete(gone)  # twice is fine

    assert not await s3_storage.exists(gone)
    assert await s3_storage.exists(kept)
    with pytest.raises(FileNotFoundError, match=r"speech\.ogg"):
        await s3_storage.get_file(gone, tmp_path / "x.ogg")


async def test_a_missing_object_raises_file_not_found_and_leaves_dest_alone(
    s3_storage: S3Storage, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh" / "video.mp4"
    existing = source(tmp_path, "existing.mp4", b"what was here before")

    with pytest.raises(FileNotFoundError, match=s3_storage.bucket):
        await s3_storage.get_file(generation_key(1, 1, "nothing.mp4"), fresh)
    with pytest.raises(FileNotFoundError):
        await s3_storage.get_file(generation_key(1, 1, "nothing.mp4"), existing)

    assert not fresh.exists()
    assert existing.read_bytes() == b"what was here before"
    assert leftovers(tmp_path) == []


async def test_the_lifecycle_rule_for_temp_files_is_stored_and_other_rules_are_kept(
    s3_storage: S3Storage, raw_s3: S3Client
) -> None:
    bucket = s3_storage.bucket
    await raw_s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "operator-rule",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "exports/"},
                    "Expiration": {"Days": 30},
                }
            ]
        },
    )

    await s3_storage.expire_prefix("tmp/", 3)
    await s3_storage.expire_prefix("tmp/", 1)  # a second call replaces our rule, it does not add one

    rules = (await raw_s3.get_bucket_lifecycle_configuration(Bucket=bucket))["Rules"]
    by_prefix = {rule["Filter"].get("Prefix", ""): rule for rule in rules}
    assert sorted(by_prefix) == ["exports/", "tmp/"]
    assert by_prefix["tmp/"]["Expiration"]["Days"] == 1
    assert by_prefix["tmp/"]["Status"] == "Enabled"
    assert by_prefix["exports/"]["Expiration"]["Days"] == 30


async def test_a_lifecycle_rule_for_the_whole_bucket_or_a_bad_prefix_is_refused(
    s3_storage: S3Storage, raw_s3: S3Client
) -> None:
    for prefix in ["", "/", "../", "tmp//"]:
        with pytest.raises(StorageKeyError):
            await s3_storage.expire_prefix(prefix, 1)
    for days in [0, -1]:
        with pytest.raises(ValueError, match="days"):
            await s3_storage.expire_prefix("tmp/", days)

    with pytest.raises(ClientError, match="NoSuchLifecycleConfiguration"):
        await raw_s3.get_bucket_lifecycle_configuration(Bucket=s3_storage.bucket)


async def test_ensure_bucket_leaves_an_existing_bucket_and_its_objects_alone(
    s3_storage: S3Storage, s3_endpoint: str, tmp_path: Path
) -> None:
    key = generation_key(1, 1, "video.mp4")
    await s3_storage.put_file(key, source(tmp_path, "v", b"v"), content_type="video/mp4")

    await s3_storage.ensure_bucket()
    async with S3Storage(
        s3_endpoint, s3_storage.bucket, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, max_attempts=1
    ) as second_process:
        await second_process.ensure_bucket()

    assert await s3_storage.exists(key)


async def test_other_s3_errors_name_bucket_and_key_but_never_the_secret(
    s3_endpoint: str, tmp_path: Path
) -> None:
    key = generation_key(3, 4, "video.mp4")
    async with S3Storage(
        s3_endpoint, "no-such-bucket-here", TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, max_attempts=1
    ) as storage:
        with pytest.raises(StorageError) as caught:
            await storage.get_file(key, tmp_path / "v.mp4")
        with pytest.raises(StorageError, match="NoSuchBucket"):
            await storage.put_file(key, source(tmp_path, "s", b"x"), content_type="video/mp4")

    message = str(caught.value)
    assert "s3://no-such-bucket-here/users/3/generations/4/video.mp4" in message
    assert "NoSuchBucket" in message
    assert TEST_SECRET_ACCESS_KEY not in message
    assert caught.value.reason == "storage_failed"
    assert not caught.value.transient  # a missing bucket does not come back by retrying
    assert not (tmp_path / "v.mp4").exists()


@pytest.fixture
async def counting_listener() -> AsyncIterator[tuple[str, list[int]]]:
    """An endpoint that counts the connections made to it (and answers none)."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", connections


@pytest.mark.parametrize(
    "key", ["../x", "", "users/7/../../etc/passwd", "/abs", "users//7", "users/7/видео.mp4"]
)
async def test_bad_keys_are_refused_before_anything_is_sent(
    counting_listener: tuple[str, list[int]], tmp_path: Path, key: str
) -> None:
    endpoint, connections = counting_listener
    src = source(tmp_path, "s", b"x")
    async with S3Storage(endpoint, "bucket", TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY) as storage:
        with pytest.raises(StorageKeyError):
            await storage.put_file(key, src, content_type="text/plain")
        with pytest.raises(StorageKeyError):
            await storage.get_file(key, tmp_path / "out")
        with pytest.raises(StorageKeyError):
            await storage.exists(key)
        with pytest.raises(StorageKeyError):
            await storage.delete(key)
        with pytest.raises(StorageKeyError):
            await storage.presigned_url(key, expires=60)
        with pytest.raises(StorageKeyError):
            storage.local_path(key)
        await asyncio.sleep(0.05)  # a connection, had one been opened, would have been counted by now

    assert connections == []
    assert not (tmp_path / "out").exists()


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A TCP port that never completes a connection: like a firewalled or unreachable host."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):  # fill the accept queue: the first handshake left unanswered proves it is full
        filler = socket.socket()
        filler.settimeout(0.2)
        fillers.append(filler)
        try:
            filler.connect(("127.0.0.1", port))
        except TimeoutError:
            break
    else:
        pytest.fail("the accept queue never filled up")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for sock in [*fillers, server]:
            sock.close()


async def test_an_unreachable_endpoint_fails_fast_with_a_clear_transient_error(blackhole: str) -> None:
    key = generation_key(1, 2, "video.mp4")
    async with S3Storage(
        blackhole, "media", TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, connect_timeout=0.4, max_attempts=1
    ) as storage:
        started = time.monotonic()
        with pytest.raises(StorageError) as caught:
            await storage.exists(key)
        elapsed = time.monotonic() - started

    assert elapsed < 0.75  # one attempt of 0.4 s: two would take at least 0.8 s
    assert "s3://media/users/1/generations/2/video.mp4" in str(caught.value)
    assert "ConnectTimeout" in str(caught.value)
    assert caught.value.transient


async def test_a_closed_port_fails_at_once_with_a_clear_transient_error(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        async with S3Storage(
            f"http://127.0.0.1:{port}", "media", TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, max_attempts=1
        ) as storage:
            with pytest.raises(
                StorageError, match=r"s3://media/tmp/x\.ogg.*EndpointConnectionError"
            ) as caught:
                await storage.put_file("tmp/x.ogg", source(tmp_path, "x", b"x"), content_type="audio/ogg")

    assert caught.value.transient
    assert TEST_SECRET_ACCESS_KEY not in str(caught.value)


@pytest.fixture
async def truncating_server() -> AsyncIterator[str]:
    """Answers every request with a 200 that promises 1 MB and hangs up after 1 KB."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 1000000\r\n\r\n")
        writer.write(b"\x00" * 1024)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_a_download_cut_short_keeps_the_old_dest_whole_and_leaves_no_temp_file(
    truncating_server: str, tmp_path: Path
) -> None:
    dest = source(tmp_path, "video.mp4", b"the previous, complete video")
    async with S3Storage(
        truncating_server, "media", TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, max_attempts=1
    ) as storage:
        with pytest.raises(StorageError, match=r"s3://media/users/1/generations/2/video\.mp4") as caught:
            await storage.get_file(generation_key(1, 2, "video.mp4"), dest)

    assert caught.value.transient
    assert dest.read_bytes() == b"the previous, complete video"
    assert leftovers(tmp_path) == []


async def test_using_a_storage_that_is_not_open_says_how_to_open_it(tmp_path: Path) -> None:
    storage = S3Storage("http://127.0.0.1:9", "media", TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY)

    with pytest.raises(RuntimeError, match="not open"):
        await storage.exists("tmp/x")

    await storage.open()
    await storage.close()
    await storage.close()  # closing twice is fine
    assert TEST_SECRET_ACCESS_KEY not in repr(storage)
