"""Presigned R2 URLs, checked by our own SigV4 verifier (moto accepts any signature, so it cannot tell)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest

from app.services.storage.keys import generation_key
from app.services.storage.s3 import MAX_PRESIGNED_SECONDS, MIB, S3Storage

R2_ENDPOINT = "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"
ACCESS_KEY_ID = "a3f0c2b1d4e5f60718293a4b5c6d7e8f"
SECRET = "9d1c0f3e2b4a59687e6d5c4b3a29180f7e6d5c4b3a29180f9d1c0f3e2b4a5968"
KEY = generation_key(7, 42, "video.mp4")


def signature_is_valid(url: str, secret: str, *, now: datetime) -> bool:
    """What R2 checks on a presigned GET: SigV4 over method, path, query and host, and the expiry."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    signed_query = sorted((k, v) for k, v in query if k != "X-Amz-Signature")
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in signed_query)
    canonical_request = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            params["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    signing_key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    fresh = signed_at <= now <= signed_at + timedelta(seconds=int(params["X-Amz-Expires"]))
    return fresh and hmac.compare_digest(expected, params["X-Amz-Signature"])


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
async def r2() -> AsyncIterator[S3Storage]:
    async with S3Storage(R2_ENDPOINT, "ugc-media", ACCESS_KEY_ID, SECRET) as storage:
        yield storage


async def test_the_url_is_signed_for_this_object_region_auto_and_the_asked_lifetime(r2: S3Storage) -> None:
    url = await r2.presigned_url(KEY, expires=900)

    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    now = datetime.now(UTC)
    assert f"{parts.scheme}://{parts.netloc}" == R2_ENDPOINT
    assert parts.path == f"/ugc-media/{KEY}"
    assert params["X-Amz-Expires"] == "900"
    assert params["X-Amz-Credential"].startswith(ACCESS_KEY_ID + "/")
    assert params["X-Amz-Credential"].endswith("/auto/s3/aws4_request")
    assert SECRET not in url
    assert signature_is_valid(url, SECRET, now=now)
    assert not signature_is_valid(url, SECRET, now=now + timedelta(seconds=901))


async def test_a_url_altered_to_reach_another_object_or_live_longer_no_longer_verifies(r2: S3Storage) -> None:
    url = await r2.presigned_url(KEY, expires=60)
    now = datetime.now(UTC)
    other_object = url.replace("/generations/42/", "/generations/43/")

    assert not signature_is_valid(other_object, SECRET, now=now)
    assert not signature_is_valid(with_query(url, **{"X-Amz-Expires": "604800"}), SECRET, now=now)
    assert not signature_is_valid(url, SECRET[::-1], now=now)


@pytest.mark.parametrize("expires", [1, MAX_PRESIGNED_SECONDS])
async def test_lifetimes_from_one_second_to_seven_days_are_allowed(r2: S3Storage, expires: int) -> None:
    url = await r2.presigned_url(KEY, expires=expires)

    assert dict(parse_qsl(urlsplit(url).query))["X-Amz-Expires"] == str(expires)


@pytest.mark.parametrize("expires", [0, -5, MAX_PRESIGNED_SECONDS + 1, True, 1.5])
async def test_lifetimes_outside_what_r2_accepts_are_refused(r2: S3Storage, expires: int) -> None:
    with pytest.raises(ValueError, match="604800"):
        await r2.presigned_url(KEY, expires=expires)


@pytest.mark.parametrize(
    ("bucket", "key_id", "secret"), [("", ACCESS_KEY_ID, SECRET), ("b", "", SECRET), ("b", ACCESS_KEY_ID, "")]
)
def test_an_empty_bucket_or_credential_is_refused_at_construction(
    bucket: str, key_id: str, secret: str
) -> None:
    # botocore would otherwise quietly fall back to ~/.aws or AWS_* variables of the machine.
    with pytest.raises(ValueError, match="empty"):
        S3Storage(R2_ENDPOINT, bucket, key_id, secret)


@pytest.mark.parametrize(
    ("threshold", "part_size", "match"),
    [
        (64 * MIB, 5 * MIB - 1, "part_size"),  # S3 and R2 refuse parts under 5 MiB
        (64 * MIB, 5 * 1024 * MIB + 1, "part_size"),
        (0, 16 * MIB, "multipart_threshold"),
        (6 * 1024 * MIB, 16 * MIB, "multipart_threshold"),  # above what one PutObject may carry on R2
    ],
)
def test_part_sizes_the_store_would_refuse_are_refused_at_construction(
    threshold: int, part_size: int, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        S3Storage(R2_ENDPOINT, "b", ACCESS_KEY_ID, SECRET, multipart_threshold=threshold, part_size=part_size)


def test_the_secret_is_not_in_the_storage_repr() -> None:
    storage = S3Storage(R2_ENDPOINT, "ugc-media", ACCESS_KEY_ID, SECRET)

    assert SECRET not in repr(storage)
    assert "ugc-media" in repr(storage)
