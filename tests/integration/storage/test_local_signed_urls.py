"""Signed URLs of the embedded storage, fetched through ``GET /files/{key}`` as fal.ai would fetch them.

moto never checks signatures, and neither would a plain file server: these tests are the only proof that an
altered or expired link opens nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.services.storage.files_route import ROUTE, LocalFilesRoute
from app.services.storage.keys import draft_key, generation_key
from app.services.storage.local import LocalStorage
from app.services.storage.signing import MAX_URL_SECONDS, UrlSigner, derive_signing_key

PUBLIC = "https://bot.example.com"
SIGNING_KEY = derive_signing_key("123456:test-bot-token-used-only-here")
VIDEO = bytes(range(256)) * 1000
KEY = generation_key(7, 42, "video.mp4")
SPEECH = draft_key(7, "d1", "speech.ogg")


class FixedClock:
    def __init__(self) -> None:
        self.at = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def storage(tmp_path: Path, clock: FixedClock) -> LocalStorage:
    storage = LocalStorage(
        tmp_path / "objects", public_url=PUBLIC + "/", signing_key=SIGNING_KEY, clock=clock
    )
    for key, content in [(KEY, VIDEO), (SPEECH, b"OggS voice")]:
        src = tmp_path / "src"
        src.write_bytes(content)
        await storage.put_file(key, src, content_type="application/octet-stream")
    (tmp_path / "secret.txt").write_text("outside the storage root")
    return storage


@pytest.fixture
async def http(storage: LocalStorage) -> AsyncIterator[TestClient[Any, Any]]:
    """The bot's web app with the files route, as the composition root adds it."""
    app = web.Application()
    app.router.add_get(ROUTE, LocalFilesRoute(storage).handle)
    async with TestClient(TestServer(app)) as client:
        yield client


def local(url: str) -> str:
    """The path and query of a public URL: the web app behind the public address sees just these."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC
    return f"{parts.path}?{parts.query}"


def altered(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return f"{parts.path}?{urlencode(query)}"


async def signed(storage: LocalStorage, key: str, expires: int = 600) -> str:
    url = await storage.presigned_url(key, expires=expires)
    assert url is not None
    return url


async def test_a_signed_url_serves_the_file_with_its_media_type(
    storage: LocalStorage, http: TestClient[Any, Any]
) -> None:
    url = await signed(storage, KEY)

    assert url.startswith(f"{PUBLIC}/files/users/7/generations/42/video.mp4?expires=")
    async with http.get(local(url)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "video/mp4"
        assert await response.read() == VIDEO
    async with http.get(local(await signed(storage, SPEECH))) as response:
        assert (response.status, response.headers["Content-Type"]) == (200, "audio/ogg")
        assert await response.read() == b"OggS voice"


async def test_head_answers_the_size_without_the_body(
    storage: LocalStorage, http: TestClient[Any, Any]
) -> None:
    async with http.head(local(await signed(storage, KEY))) as response:
        assert response.status == 200
        assert response.headers["Content-Length"] == str(len(VIDEO))
        assert await response.read() == b""


async def test_a_range_request_gets_just_that_range(
    storage: LocalStorage, http: TestClient[Any, Any]
) -> None:
    async with http.get(local(await signed(storage, KEY)), headers={"Range": "bytes=256-511"}) as response:
        assert response.status == 206
        assert await response.read() == bytes(range(256))


async def test_an_altered_signature_key_or_expiry_is_refused(
    storage: LocalStorage, http: TestClient[Any, Any]
) -> None:
    url = await signed(storage, KEY)
    params = dict(parse_qsl(urlsplit(url).query))
    flipped = ("0" if params["signature"][0] != "0" else "1") + params["signature"][1:]
    attempts = {
        "signature": altered(url, signature=flipped),
        "truncated signature": altered(url, signature=params["signature"][:-2]),
        "other object": local(url).replace("/generations/42/", "/generations/43/"),
        "other existing object": local(url).replace(KEY, SPEECH),
        "longer life": altered(url, expires=str(int(params["expires"]) + 3600)),
        "not a number": altered(url, expires="1e99"),
        "non-ascii signature": altered(url, signature="é" * 64),
    }

    for what, path in attempts.items():
        async with http.get(path) as response:
            assert response.status == 403, what
            assert "signature does not match" in await response.text(), what


async def test_a_url_stops_working_when_it_expires_and_says_so(
    storage: LocalStorage, http: TestClient[Any, Any], clock: FixedClock
) -> None:
    path = local(await signed(storage, KEY, expires=600))

    clock.advance(600)
    async with http.get(path) as response:
        assert response.status == 200  # still valid at its last second
    clock.advance(1)
    async with http.get(path) as response:
        assert response.status == 403
        body = await response.text()

    assert "expired" in body
    assert "signature" not in body  # the operator can tell an old link from a forged one


async def test_a_url_signed_with_another_key_is_refused(
    storage: LocalStorage, http: TestClient[Any, Any], tmp_path: Path, clock: FixedClock
) -> None:
    other = LocalStorage(
        storage.root, public_url=PUBLIC, signing_key=derive_signing_key("other-secret"), clock=clock
    )

    async with http.get(local(await signed(other, KEY))) as response:
        assert response.status == 403


@pytest.mark.parametrize(
    "query", ["", "?expires=99999999999", "?signature=" + "0" * 64, "?expires=&signature="]
)
async def test_an_unsigned_url_is_refused(http: TestClient[Any, Any], query: str) -> None:
    async with http.get(f"/files/{KEY}{query}") as response:
        assert response.status == 403
        assert "not signed" in await response.text()


async def test_a_signed_url_for_a_missing_object_or_a_folder_is_not_found(
    storage: LocalStorage, http: TestClient[Any, Any]
) -> None:
    for key in [generation_key(7, 42, "none.mp4"), "users/7/generations/42", "users"]:
        async with http.get(local(await signed(storage, key))) as response:
            assert response.status == 404, key
            assert "video.mp4" not in await response.text()  # no listing


@pytest.mark.parametrize(
    "path",
    ["../secret.txt", "..%2Fsecret.txt", "%2e%2e/secret.txt", "users/..%2F..%2Fsecret.txt", "/secret.txt"],
)
async def test_a_key_leading_out_of_the_root_opens_nothing_even_with_a_valid_signature(
    storage: LocalStorage, http: TestClient[Any, Any], clock: FixedClock, path: str
) -> None:
    # As if the signing key had leaked: the signature is right for the key the server decodes.
    signer = UrlSigner(SIGNING_KEY, clock)
    tries = {path, path.replace("%2F", "/").replace("%2e", ".")}
    for key in tries:
        expires, signature = signer.sign(key, 60)
        async with http.get(f"/files/{path}?expires={expires}&signature={signature}") as response:
            assert response.status in {403, 404}, key
            assert "outside the storage root" not in await response.text()


async def test_a_symlink_planted_in_the_root_is_not_followed_out(
    storage: LocalStorage, http: TestClient[Any, Any], tmp_path: Path
) -> None:
    (storage.root / "users" / "leak.txt").symlink_to(tmp_path / "secret.txt")

    async with http.get(local(await signed(storage, "users/leak.txt"))) as response:
        assert response.status == 404
        assert "outside the storage root" not in await response.text()


def test_the_route_needs_a_storage_that_signs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="public_url and signing_key"):
        LocalFilesRoute(LocalStorage(tmp_path))


@pytest.mark.parametrize("expires_in", [1, MAX_URL_SECONDS])
def test_links_may_last_one_second_to_seven_days(clock: FixedClock, expires_in: int) -> None:
    signer = UrlSigner(SIGNING_KEY, clock)
    expires, signature = signer.sign(KEY, expires_in)

    assert expires == int(clock.at.timestamp()) + expires_in
    assert signer.verify(KEY, expires, signature) == "ok"


@pytest.mark.parametrize("expires_in", [0, -1, MAX_URL_SECONDS + 1, True, 1.5])
async def test_longer_or_empty_lifetimes_are_refused(
    storage: LocalStorage, clock: FixedClock, expires_in: int
) -> None:
    with pytest.raises(ValueError, match="604800"):
        UrlSigner(SIGNING_KEY, clock).sign(KEY, expires_in)
    with pytest.raises(ValueError, match="604800"):
        await storage.presigned_url(KEY, expires=expires_in)


def test_the_signing_key_is_never_shown(clock: FixedClock, tmp_path: Path) -> None:
    signer = UrlSigner(SIGNING_KEY, clock)
    storage = LocalStorage(tmp_path, public_url=PUBLIC, signing_key=SIGNING_KEY, clock=clock)

    for shown in [repr(signer), repr(storage)]:
        assert SIGNING_KEY.hex() not in shown
        assert repr(SIGNING_KEY) not in shown
    with pytest.raises(ValueError, match="16 bytes"):
        UrlSigner(b"short", clock)
