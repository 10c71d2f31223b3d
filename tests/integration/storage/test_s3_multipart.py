"""Large uploads to S3/R2: equal parts streamed from disk, aborted on failure, and no checksums R2 refuses.

moto stores the objects; a recording proxy in front of it shows what an R2 endpoint would receive.
"""

from __future__ import annotations

import asyncio
import random
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiobotocore.session import get_session

from app.services.storage.keys import generation_key
from app.services.storage.s3 import MIB, S3Storage, StorageError
from tests.integration.storage.s3_proxy import S3Proxy, s3_proxy
from tests.support.s3 import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

PART = 5 * MIB  # the smallest part S3 (and moto) accept
BIG = random.Random(11).randbytes(12 * MIB + 123)  # two whole parts and a short last one
KEY = generation_key(7, 42, "video.mp4")


@pytest.fixture
async def raw_s3(s3_endpoint: str) -> AsyncIterator[S3Client]:
    """A plain client straight to moto, to look at the bucket without the code under test."""
    async with get_session().create_client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="auto",
        aws_access_key_id=TEST_ACCESS_KEY_ID,
        aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
    ) as client:
        yield client


@pytest.fixture
async def bucket(s3_endpoint: str) -> str:
    name = f"test-{uuid.uuid4().hex[:20]}"
    async with storage_at(s3_endpoint, name) as storage:
        await storage.ensure_bucket()
    return name


@pytest.fixture
async def proxy(s3_endpoint: str) -> AsyncIterator[S3Proxy]:
    async with s3_proxy(s3_endpoint) as running:
        yield running


def storage_at(endpoint: str, bucket: str) -> S3Storage:
    return S3Storage(
        endpoint,
        bucket,
        TEST_ACCESS_KEY_ID,
        TEST_SECRET_ACCESS_KEY,
        max_attempts=1,
        read_timeout=10,
        multipart_threshold=PART,
        part_size=PART,
    )


def source(tmp_path: Path, content: bytes, name: str = "video.mp4") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


async def unfinished_uploads(raw_s3: S3Client, bucket: str) -> list[str]:
    answer = await raw_s3.list_multipart_uploads(Bucket=bucket)
    return [upload["Key"] for upload in answer.get("Uploads", [])]


async def test_a_large_video_goes_up_in_equal_parts_and_comes_back_byte_for_byte(
    proxy: S3Proxy, bucket: str, raw_s3: S3Client, tmp_path: Path
) -> None:
    async with storage_at(proxy.url, bucket) as storage:
        stored = await storage.put_file(KEY, source(tmp_path, BIG), content_type="video/mp4")
        back = await storage.get_file(KEY, tmp_path / "down" / "video.mp4")

    assert (stored.key, stored.size) == (KEY, len(BIG))
    assert back.read_bytes() == BIG
    assert proxy.calls()[:5] == [
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
    ]
    # R2's rule: every part but the last has the same size.
    assert [(p.part_number, p.size) for p in proxy.parts()] == [
        (1, PART),
        (2, PART),
        (3, len(BIG) - 2 * PART),
    ]
    head = await raw_s3.head_object(Bucket=bucket, Key=KEY)
    assert (head["ContentLength"], head["ContentType"]) == (len(BIG), "video/mp4")
    assert await unfinished_uploads(raw_s3, bucket) == []


async def test_a_file_below_the_threshold_goes_up_in_one_put(
    proxy: S3Proxy, bucket: str, tmp_path: Path
) -> None:
    small = BIG[: PART - 1]
    async with storage_at(proxy.url, bucket) as storage:
        await storage.put_file(KEY, source(tmp_path, small), content_type="video/mp4")
        await storage.get_file(KEY, tmp_path / "back.mp4")

    assert proxy.calls()[0] == "PutObject"
    assert proxy.parts() == []
    assert (tmp_path / "back.mp4").read_bytes() == small


async def test_no_upload_carries_the_checksum_headers_r2_rejects(
    proxy: S3Proxy, bucket: str, tmp_path: Path
) -> None:
    async with storage_at(proxy.url, bucket) as storage:
        await storage.put_file(
            generation_key(1, 1, "s.ogg"), source(tmp_path, b"ogg", "s.ogg"), content_type="a/b"
        )
        await storage.put_file(KEY, source(tmp_path, BIG), content_type="video/mp4")

    uploads = [r for r in proxy.seen if r.method in {"PUT", "POST"}]
    assert {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"} <= set(
        proxy.calls()
    )
    for request in uploads:
        sent = {name for name in request.headers if "checksum" in name}
        assert sent == set(), f"{request.method} {request.query} sent {sent}"
        assert "aws-chunked" not in request.headers.get("content-encoding", "")


async def test_a_part_that_fails_aborts_the_upload_and_keeps_the_old_object(
    proxy: S3Proxy, bucket: str, raw_s3: S3Client, tmp_path: Path
) -> None:
    await raw_s3.put_object(Bucket=bucket, Key=KEY, Body=b"the previous video")
    proxy.fail_part = 2

    async with storage_at(proxy.url, bucket) as storage:
        with pytest.raises(
            StorageError, match=r"s3://.*/users/7/generations/42/video\.mp4.*InternalError"
        ) as caught:
            await storage.put_file(KEY, source(tmp_path, BIG), content_type="video/mp4")

    assert caught.value.transient  # a 500 is worth retrying later
    assert TEST_SECRET_ACCESS_KEY not in str(caught.value)
    assert proxy.calls()[-1] == "AbortMultipartUpload"
    assert await unfinished_uploads(raw_s3, bucket) == []  # no parts left to bill
    kept = await raw_s3.get_object(Bucket=bucket, Key=KEY)
    async with kept["Body"] as body:
        assert await body.read() == b"the previous video"


async def test_an_upload_cancelled_midway_is_aborted_too(
    proxy: S3Proxy, bucket: str, raw_s3: S3Client, tmp_path: Path
) -> None:
    proxy.hold_part = 2
    async with storage_at(proxy.url, bucket) as storage:
        upload = asyncio.create_task(storage.put_file(KEY, source(tmp_path, BIG), content_type="video/mp4"))
        await asyncio.wait_for(proxy.held.wait(), timeout=10)
        upload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await upload

    assert "AbortMultipartUpload" in proxy.calls()
    assert await unfinished_uploads(raw_s3, bucket) == []
    assert "Contents" not in await raw_s3.list_objects_v2(Bucket=bucket)


async def test_a_missing_source_file_fails_before_anything_is_uploaded(
    proxy: S3Proxy, bucket: str, tmp_path: Path
) -> None:
    async with storage_at(proxy.url, bucket) as storage:
        with pytest.raises(FileNotFoundError):
            await storage.put_file(KEY, tmp_path / "gone.mp4", content_type="video/mp4")

    assert proxy.seen == []


async def test_a_large_upload_never_holds_the_whole_file_in_memory(
    s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    video = random.Random(3).randbytes(30 * MIB)  # six parts
    path = source(tmp_path, video)
    del video
    async with storage_at(s3_endpoint, bucket) as storage:
        tracemalloc.start()
        try:
            await storage.put_file(KEY, path, content_type="video/mp4")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    # One part is read at a time (the client may copy it once while sending): far below the 30 MiB file.
    assert peak < 3 * PART, f"peak {peak / MIB:.1f} MiB"


async def test_a_file_too_large_for_ten_thousand_parts_is_refused_before_any_request(
    proxy: S3Proxy, bucket: str, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.mp4"
    with huge.open("wb") as sparse:  # takes no disk space
        sparse.truncate(10_000 * PART + 1)

    async with storage_at(proxy.url, bucket) as storage:
        with pytest.raises(ValueError, match="10000 parts"):
            await storage.put_file(KEY, huge, content_type="video/mp4")

    assert proxy.seen == []
