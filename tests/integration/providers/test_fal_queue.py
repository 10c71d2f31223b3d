"""The fal.ai queue client against the fake fal: the queue's life cycle, fal's errors as ProviderError with
the right transient flag, short retries that never pay twice, uploads, and a key that never leaks."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.services.fal import FalQueueClient, FalRequest
from app.services.providers import ProviderError
from tests.conftest import ROOT
from tests.fakes.fal_server import FakeFal, fal_server
from tests.integration.providers.fal_support import MODEL, SettableClock, all_logs, queue_client
from tests.support.servers import free_port


@pytest.fixture
async def fal() -> AsyncIterator[FakeFal]:
    async with fal_server(latency=60) as fake:  # requests finish when a test says fal.complete()
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient, fal: FakeFal) -> FalQueueClient:
    return queue_client(http, fal)


async def uploaded_input(client: FalQueueClient, media: Path) -> dict[str, str]:
    image = await client.upload(media / "portrait.jpg", "image/jpeg")
    audio = await client.upload(media / "speech5.wav", "audio/wav")
    return {"image_url": image, "audio_url": audio, "resolution": "720p"}


async def test_a_request_goes_from_queue_to_progress_to_a_result(
    http: httpx.AsyncClient, media: Path, tmp_path: Path
) -> None:
    async with fal_server(latency=2.0) as fal:  # a quarter in the queue, then in progress
        client = queue_client(http, fal)
        request = await client.submit(MODEL, await uploaded_input(client, media))

        first = await client.status(request)
        await asyncio.sleep(0.8)
        second = await client.status(request)
        await fal.complete()
        third = await client.status(request)
        output = await client.result(request)

    assert (first.state, first.queue_position) == ("IN_QUEUE", 0)
    assert (second.state, second.done) == ("IN_PROGRESS", False)
    assert (third.state, third.failed) == ("COMPLETED", False)
    assert output["video"]["content_type"] == "video/mp4"
    assert output["duration"] == pytest.approx(5.0, abs=0.1)
    assert request.status_url.startswith(fal.url)  # fal's URLs, used as returned


async def test_poll_is_none_until_done_then_the_output(
    client: FalQueueClient, fal: FakeFal, media: Path
) -> None:
    request = await client.submit(MODEL, await uploaded_input(client, media))

    assert await client.poll(request) is None
    await fal.complete(request.request_id)
    output = await client.poll(request)

    assert output is not None and output["video"]["url"].startswith(fal.url)


async def test_the_stored_request_is_one_short_string_another_client_can_follow(
    fal: FakeFal, media: Path
) -> None:
    async with httpx.AsyncClient(timeout=5) as first_http:
        first = queue_client(first_http, fal)
        stored = (await first.submit(MODEL, await uploaded_input(first, media))).dumps()
    await fal.complete()

    async with httpx.AsyncClient(timeout=5) as later_http:  # a restarted worker: new client, same string
        output = await queue_client(later_http, fal).poll(FalRequest.loads(stored))

    assert len(stored) <= 1000
    assert output is not None and "video" in output
    assert fal.stats()["total"] == 1


@pytest.mark.parametrize("text", ["", "12345", "[]", '{"model": "m", "id": "x"}'])
def test_a_stored_request_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a stored fal request"):
        FalRequest.loads(text)


async def test_a_busy_fal_is_retried_briefly_and_queued_once(
    client: FalQueueClient, fal: FakeFal, media: Path
) -> None:
    arguments = await uploaded_input(client, media)
    fal.fail("submit", 429, times=2)

    await client.submit(MODEL, arguments)

    assert fal.stats()["counters"]["submit_calls"] == 3
    assert fal.stats()["total"] == 1


@pytest.mark.parametrize(
    ("status", "error_type", "reason"),
    [
        (429, None, "provider_busy"),
        (503, "runner_scheduling_failure", "provider_unavailable"),
        (504, "startup_timeout", "provider_unavailable"),
    ],
)
async def test_fal_still_turning_us_away_after_the_retries_is_transient(
    client: FalQueueClient, fal: FakeFal, status: int, error_type: str | None, reason: str
) -> None:
    fal.fail("submit", status, times=3, error_type=error_type)

    with pytest.raises(ProviderError) as caught:
        await client.submit(MODEL, {"image_url": "https://x/a.jpg", "audio_url": "https://x/a.wav"})

    assert (caught.value.reason, caught.value.transient) == (reason, True)
    assert f"HTTP {status}" in caught.value.detail
    assert fal.stats()["total"] == 0


async def test_a_validation_error_is_permanent_and_says_what_is_wrong(client: FalQueueClient) -> None:
    with pytest.raises(ProviderError) as caught:
        await client.submit(MODEL, {"image_url": "https://x/a.jpg", "resolution": "4k"})

    assert (caught.value.reason, caught.value.transient) == ("provider_rejected", False)
    assert "audio_url: Field required" in caught.value.detail
    assert "resolution: Input should be '720p' or '1080p'" in caught.value.detail


async def test_a_content_policy_validation_error_is_a_refusal(client: FalQueueClient, fal: FakeFal) -> None:
    detail = [
        {"loc": ["body", "image_url"], "msg": "The image was flagged", "type": "content_policy_violation"}
    ]
    fal.fail("submit", 422, detail=detail)

    with pytest.raises(ProviderError) as caught:
        await client.submit(MODEL, {"image_url": "https://x/a.jpg", "audio_url": "https://x/a.wav"})

    assert (caught.value.reason, caught.value.transient) == ("content_refused", False)
    assert "image_url: The image was flagged" in caught.value.detail


@pytest.mark.parametrize(
    ("error_type", "reason"),
    [("model_error", "video_failed"), ("content_policy_violation", "content_refused")],
)
async def test_a_run_completed_with_an_error_is_a_permanent_failure(
    client: FalQueueClient, fal: FakeFal, media: Path, error_type: str, reason: str
) -> None:
    fal.fail_run("No face detected in the image", error_type=error_type)
    request = await client.submit(MODEL, await uploaded_input(client, media))
    await fal.complete()

    status = await client.status(request)
    with pytest.raises(ProviderError) as caught:
        await client.poll(request)

    assert (status.state, status.failed) == ("COMPLETED", True)
    assert (caught.value.reason, caught.value.transient) == (reason, False)
    assert "No face detected in the image" in caught.value.detail


async def test_a_status_call_that_hangs_times_out_and_the_retry_gets_the_answer(
    fal: FakeFal, media: Path
) -> None:
    async with httpx.AsyncClient(timeout=0.3) as quick:
        client = queue_client(quick, fal)
        request = await client.submit(MODEL, await uploaded_input(client, media))
        fal.hang("status")
        status = await client.status(request)

        fal.hang("status", times=3)
        with pytest.raises(ProviderError) as caught:
            await client.status(request)

    assert status.state == "IN_QUEUE"
    assert (caught.value.reason, caught.value.transient) == ("provider_unavailable", True)
    assert "timed out" in caught.value.detail


async def test_a_submit_that_times_out_is_not_sent_again(fal: FakeFal) -> None:
    fal.hang("submit", seconds=5)

    async with httpx.AsyncClient(timeout=0.3) as quick:
        with pytest.raises(ProviderError) as caught:
            await queue_client(quick, fal).submit(
                MODEL, {"image_url": "https://x/a", "audio_url": "https://x/b"}
            )

    assert caught.value.transient
    assert (
        fal.stats()["counters"]["submit_calls"] == 1
    )  # fal may have queued it: a second send could pay twice


async def test_fal_out_of_reach_is_transient(http: httpx.AsyncClient) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    client = FalQueueClient(http, "some-key-123", queue_url=nowhere, tries=2, first_backoff=0.01)

    with pytest.raises(ProviderError) as caught:
        await client.submit(MODEL, {})

    assert (caught.value.reason, caught.value.transient) == ("provider_unavailable", True)


async def test_a_wrong_key_is_a_permanent_auth_failure(
    http: httpx.AsyncClient, fal: FakeFal, media: Path
) -> None:
    client = queue_client(http, fal, key="wrong-key-9f8e7d6c")

    with pytest.raises(ProviderError) as on_submit:
        await client.submit(MODEL, {"image_url": "https://x/a", "audio_url": "https://x/b"})
    with pytest.raises(ProviderError) as on_upload:
        await client.upload(media / "portrait.jpg", "image/jpeg")

    for caught in (on_submit, on_upload):
        assert (caught.value.reason, caught.value.transient) == ("provider_auth", False)
    assert fal.stats()["counters"]["unauthorised"] == 2


async def test_the_key_appears_in_no_error_and_no_log_line(
    http: httpx.AsyncClient, fal: FakeFal, media: Path
) -> None:
    wrong_key = "wrong-key-2b3c4d5e6f"
    errors: list[ProviderError] = []
    with all_logs() as logs:
        client = queue_client(http, fal)
        request = await client.submit(MODEL, await uploaded_input(client, media))
        # A proxy in front of fal that echoes the request headers into its error page.
        fal.fail("status", 502, times=3, detail=f"upstream refused: Authorization: Key {fal.key}")
        fal.fail("submit", 500, detail=f"bad gateway for Key {fal.key}")
        stranger = queue_client(http, fal, key=wrong_key)
        for call in (client.status(request), client.submit(MODEL, {}), stranger.submit(MODEL, {})):
            with pytest.raises(ProviderError) as caught:
                await call
            errors.append(caught.value)

    text = logs.getvalue()
    assert "fal call turned away, retrying" in text and "fal request submitted" in text
    assert [e.reason for e in errors] == ["provider_unavailable", "provider_unavailable", "provider_auth"]
    assert "upstream refused: Authorization: Key <redacted>" in errors[0].detail
    for secret in (fal.key, wrong_key):
        assert secret not in text
        assert all(secret not in f"{e} {e.detail} {e.args!r}" for e in errors)


async def test_uploads_share_a_token_until_it_nears_expiry(
    http: httpx.AsyncClient, fal: FakeFal, media: Path
) -> None:
    clock = SettableClock()
    client = queue_client(http, fal, clock=clock)

    first = await client.upload(media / "portrait.jpg", "image/jpeg")
    await client.upload(media / "speech5.wav", "audio/wav")
    tokens_before = fal.stats()["counters"]["token_calls"]
    clock.advance(3600 - 10)  # the fake's tokens last an hour
    await client.upload(media / "speech5.wav", "audio/wav")

    assert tokens_before == 1
    assert fal.stats()["counters"]["token_calls"] == 2
    async with http.stream("GET", first) as response:
        assert response.status_code == 200
        assert await response.aread() == (media / "portrait.jpg").read_bytes()


async def test_a_revoked_upload_token_is_replaced_once(
    client: FalQueueClient, fal: FakeFal, media: Path
) -> None:
    await client.upload(media / "portrait.jpg", "image/jpeg")
    fal.tokens.clear()  # fal forgot the token before its expiry

    url = await client.upload(media / "portrait.jpg", "image/jpeg")

    assert url.startswith(fal.url)
    assert fal.stats()["counters"]["token_calls"] == 2


async def test_a_missing_local_file_is_named_without_any_call(client: FalQueueClient, fal: FakeFal) -> None:
    with pytest.raises(ProviderError) as caught:
        await client.upload(Path("/nonexistent/look.jpg"), "image/jpeg")

    assert (caught.value.reason, caught.value.transient) == ("missing_file", False)
    assert "look.jpg" in caught.value.detail
    assert fal.stats()["counters"] == {}


async def test_cancel_tells_what_fal_did(client: FalQueueClient, fal: FakeFal, media: Path) -> None:
    arguments = await uploaded_input(client, media)
    waiting = await client.submit(MODEL, arguments)
    finished = await client.submit(MODEL, arguments)
    await fal.complete(finished.request_id)

    assert await client.cancel(waiting) == "CANCELLATION_REQUESTED"
    assert await client.cancel(finished) == "ALREADY_COMPLETED"
    assert (await client.status(waiting)).failed


async def test_the_fake_as_a_process_is_scripted_and_counted_over_http(
    http: httpx.AsyncClient, media: Path, tmp_path: Path
) -> None:
    state = tmp_path / "fal-state.json"
    port = free_port()
    command = [
        sys.executable, "-m", "tests.fakes.fal_server", "--port", str(port), "--latency", "0",
        "--video", "static", "--state-file", str(state), "--key", "process-key-1234",
    ]  # fmt: skip

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"fake fal.ai listening on http://127.0.0.1:{port}"
        return proc

    url = f"http://127.0.0.1:{port}"
    client = FalQueueClient(http, "process-key-1234", queue_url=url, rest_url=url, upload_url=url, tries=1)
    proc = await asyncio.to_thread(start)
    try:
        script = {"faults": [{"on": "submit", "status": 429}]}
        assert (await http.post(f"{url}/_fake/script", json=script)).status_code == 200
        image = await client.upload(media / "portrait.jpg", "image/jpeg")
        audio = await client.upload(media / "speech5.wav", "audio/wav")
        arguments = {"image_url": image, "audio_url": audio, "resolution": "720p"}
        with pytest.raises(ProviderError) as busy:
            await client.submit(MODEL, arguments)
        request = await client.submit(MODEL, arguments)
        await client.submit(MODEL, arguments)
        proc.terminate()
        await asyncio.to_thread(proc.wait, 10)

        proc = await asyncio.to_thread(start)  # the fake itself restarted: it remembers from its state file
        output = None
        for _ in range(100):
            if (output := await client.poll(request)) is not None:
                break
            await asyncio.sleep(0.1)
        stats = (await http.get(f"{url}/_fake/stats")).json()
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 10)

    assert busy.value.reason == "provider_busy"
    assert output is not None and output["video"]["url"].startswith(url)
    assert (stats["total"], stats["duplicates"]) == (2, 1)
    assert stats["distinct"][0]["request_ids"][0] == request.request_id
    assert json.loads(state.read_text())["stats"]["total"] == 2


async def test_a_webhook_address_reaches_fal_exactly_as_given(
    client: FalQueueClient, fal: FakeFal, http: httpx.AsyncClient, media: Path
) -> None:
    hook = "https://bot.example.com/fal/webhook?ref=g42&kind=video"
    script = {"faults": [{"on": "webhook", "skip": True}]}  # nobody listens at the address
    assert (await http.post(f"{fal.url}/_fake/script", json=script)).status_code == 200

    request = await client.submit(MODEL, await uploaded_input(client, media), webhook_url=hook)

    (submission,) = fal.stats()["submissions"]
    assert (submission["request_id"], submission["webhook"]) == (request.request_id, hook)
    assert submission["webhook_state"] == "skipped"
    assert "fal_webhook" not in request.status_url  # the URLs to follow are fal's own, unchanged
