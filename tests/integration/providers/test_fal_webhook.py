"""fal.ai's completion webhooks: only deliveries fal signed are processed, a repeated one is processed once,
a forged or stale one is turned away, and when fal's keys cannot be fetched fal is told to come back later."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.services.fal.webhook import (
    FalWebhookEvent,
    FalWebhookVerifier,
    WebhookKeysUnavailable,
    WebhookRejected,
)
from app.services.providers import ProviderError, RenderedVideo
from app.services.video.omnihuman import OmniHumanVideo
from tests.fakes.fal_server import FakeFal, fal_server
from tests.integration.providers.fal_support import (
    Inbox,
    SettableClock,
    queue_client,
    webhook_receiver,
    webhook_verifier,
)

BODY = json.dumps(
    {"request_id": "req-1", "gateway_request_id": "req-1", "status": "OK", "payload": {"images": []}}
).encode()


@pytest.fixture
async def fal() -> AsyncIterator[FakeFal]:
    async with fal_server(latency=60) as fake:  # runs finish (and webhooks go out) when a test says so
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def verifier(http: httpx.AsyncClient, fal: FakeFal, clock: SettableClock) -> FalWebhookVerifier:
    return webhook_verifier(http, fal, clock=clock)


def now(clock: SettableClock) -> int:
    return int(clock.now().timestamp())


# -- the verifier --------------------------------------------------------------------------------------


async def test_a_delivery_fal_signed_passes_and_the_keys_are_fetched_once(
    verifier: FalWebhookVerifier, fal: FakeFal, clock: SettableClock
) -> None:
    for request_id in ("req-1", "req-2"):
        await verifier.verify(fal.sign_webhook(BODY, request_id, timestamp=now(clock)), BODY)

    assert fal.stats()["counters"]["jwks_calls"] == 1  # cached


async def test_a_changed_body_is_rejected(
    verifier: FalWebhookVerifier, fal: FakeFal, clock: SettableClock
) -> None:
    headers = fal.sign_webhook(BODY, "req-1", timestamp=now(clock))

    with pytest.raises(WebhookRejected, match="no key"):
        await verifier.verify(headers, BODY.replace(b'"OK"', b'"ERROR"'))


async def test_a_delivery_signed_by_another_key_is_rejected_without_hammering_the_jwks(
    verifier: FalWebhookVerifier, fal: FakeFal, clock: SettableClock
) -> None:
    forger = Ed25519PrivateKey.generate()

    for _ in range(5):
        with pytest.raises(WebhookRejected):
            await verifier.verify(fal.sign_webhook(BODY, "req-1", timestamp=now(clock), key=forger), BODY)

    assert fal.stats()["counters"]["jwks_calls"] == 1


@pytest.mark.parametrize(("offset", "accepted"), [(-301, False), (301, False), (-299, True), (299, True)])
async def test_only_a_timestamp_within_five_minutes_is_accepted(
    verifier: FalWebhookVerifier, fal: FakeFal, clock: SettableClock, *, offset: int, accepted: bool
) -> None:
    headers = fal.sign_webhook(BODY, "req-1", timestamp=now(clock) + offset)

    if accepted:
        await verifier.verify(headers, BODY)
    else:
        with pytest.raises(WebhookRejected, match="timestamp"):
            await verifier.verify(headers, BODY)


@pytest.mark.parametrize(
    "damage",
    [
        {"X-Fal-Webhook-Signature": None},
        {"X-Fal-Webhook-User-Id": None},
        {"X-Fal-Webhook-Signature": "zz" * 64},
        {"X-Fal-Webhook-Signature": "ab" * 32},
        {"X-Fal-Webhook-Timestamp": "yesterday"},
    ],
)
async def test_missing_or_malformed_signature_headers_are_rejected(
    verifier: FalWebhookVerifier, fal: FakeFal, clock: SettableClock, damage: Mapping[str, str | None]
) -> None:
    headers: dict[str, str] = fal.sign_webhook(BODY, "req-1", timestamp=now(clock))
    for name, value in damage.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value

    with pytest.raises(WebhookRejected):
        await verifier.verify(headers, BODY)


async def test_header_names_are_matched_whatever_their_case(
    verifier: FalWebhookVerifier, fal: FakeFal, clock: SettableClock
) -> None:
    headers = {
        name.lower(): value for name, value in fal.sign_webhook(BODY, "r", timestamp=now(clock)).items()
    }

    await verifier.verify(headers, BODY)


async def test_after_fal_rotates_its_key_the_key_set_is_fetched_again(
    verifier: FalWebhookVerifier, fal: FakeFal, clock: SettableClock
) -> None:
    await verifier.verify(fal.sign_webhook(BODY, "req-1", timestamp=now(clock)), BODY)
    fal.rotate_webhook_key()
    clock.advance(120)  # the cached set is older than the refetch interval

    await verifier.verify(fal.sign_webhook(BODY, "req-2", timestamp=now(clock)), BODY)

    assert fal.stats()["counters"]["jwks_calls"] == 2


async def test_cached_keys_expire_after_a_day(
    verifier: FalWebhookVerifier, fal: FakeFal, clock: SettableClock
) -> None:
    await verifier.verify(fal.sign_webhook(BODY, "req-1", timestamp=now(clock)), BODY)
    clock.advance(86_401)

    await verifier.verify(fal.sign_webhook(BODY, "req-2", timestamp=now(clock)), BODY)

    assert fal.stats()["counters"]["jwks_calls"] == 2


async def test_keys_that_cannot_be_fetched_are_a_clear_error(
    verifier: FalWebhookVerifier, fal: FakeFal, clock: SettableClock
) -> None:
    fal.fail("jwks", 503)

    with pytest.raises(WebhookKeysUnavailable, match=r"jwks\.json: HTTP 503"):
        await verifier.verify(fal.sign_webhook(BODY, "req-1", timestamp=now(clock)), BODY)


async def test_an_unreachable_key_server_is_a_clear_error(http: httpx.AsyncClient, fal: FakeFal) -> None:
    verifier = FalWebhookVerifier(http, jwks_url="http://127.0.0.1:9/.well-known/jwks.json")

    with pytest.raises(WebhookKeysUnavailable, match="ConnectError"):
        await verifier.verify(fal.sign_webhook(BODY, "req-1"), BODY)


async def test_cached_keys_still_serve_while_the_key_server_is_down(
    verifier: FalWebhookVerifier, fal: FakeFal, clock: SettableClock
) -> None:
    await verifier.verify(fal.sign_webhook(BODY, "req-1", timestamp=now(clock)), BODY)
    clock.advance(86_401)
    fal.fail("jwks", 503)

    await verifier.verify(fal.sign_webhook(BODY, "req-2", timestamp=now(clock)), BODY)


# -- the endpoint, fed by the fake's own deliveries -----------------------------------------------------


class Renders:
    """The on_event a worker would wire: collect the render a webhook announces, once per request."""

    def __init__(self, workdir: Path) -> None:
        self.inbox = Inbox()
        self.videos: list[RenderedVideo] = []
        self.failures: list[ProviderError] = []
        self.maker: OmniHumanVideo | None = None  # set once the receiver's URL is known
        self.requests: dict[str, str] = {}  # our reference → the stored request, as the worker keeps it
        self._workdir = workdir

    async def on_event(self, event: FalWebhookEvent, query: Mapping[str, str]) -> bool:
        if not await self.inbox.on_event(event, query):
            return False
        assert self.maker is not None
        try:
            self.videos.append(
                await self.maker.collect_event(self.requests[query["ref"]], event, workdir=self._workdir)
            )
        except ProviderError as exc:
            self.failures.append(exc)
        return True


def render_maker(http: httpx.AsyncClient, fal: FakeFal, webhook_url: str | None) -> OmniHumanVideo:
    return OmniHumanVideo(queue_client(http, fal), webhook_url=webhook_url)


async def submit_render(renders: Renders, media: Path, tmp_path: Path) -> str:
    assert renders.maker is not None
    stored = await renders.maker.submit(
        media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path, reference="g42"
    )
    renders.requests["g42"] = stored
    return stored


async def test_a_completed_render_arrives_by_webhook_without_polling(
    http: httpx.AsyncClient, fal: FakeFal, verifier: FalWebhookVerifier, media: Path, tmp_path: Path
) -> None:
    renders = Renders(tmp_path)
    async with webhook_receiver(verifier, renders.on_event) as url:
        renders.maker = render_maker(http, fal, url)
        await submit_render(renders, media, tmp_path)
        await fal.complete()

    (video,) = renders.videos
    assert (video.width, video.height, video.provider) == (720, 1280, "omnihuman")
    assert video.cost is not None and video.cost.usd == pytest.approx(5.0 * 0.16, abs=0.02)
    ((event, query),) = renders.inbox.deliveries
    assert (event.status, query) == ("OK", {"ref": "g42"})
    assert fal.stats()["counters"].get("status_calls", 0) == 0  # nobody polled
    assert fal.stats()["webhooks"]["delivered"] == 1


async def test_a_webhook_delivered_twice_is_processed_once(
    http: httpx.AsyncClient, fal: FakeFal, verifier: FalWebhookVerifier, media: Path, tmp_path: Path
) -> None:
    renders = Renders(tmp_path)
    fal.script_webhook(copies=2)
    async with webhook_receiver(verifier, renders.on_event) as url:
        renders.maker = render_maker(http, fal, url)
        await submit_render(renders, media, tmp_path)
        await fal.complete()

    assert len(renders.inbox.deliveries) == 2  # both answered 200: fal stops retrying
    assert len(renders.videos) == 1
    assert fal.stats()["webhooks"] == {"delivered": 2, "failed": 0, "rejected_answers": 0}


async def test_a_forged_webhook_is_rejected_and_polling_still_collects_the_render(
    http: httpx.AsyncClient, fal: FakeFal, verifier: FalWebhookVerifier, media: Path, tmp_path: Path
) -> None:
    renders = Renders(tmp_path)
    fal.script_webhook(bad_signature=True)
    async with webhook_receiver(verifier, renders.on_event) as url:
        renders.maker = render_maker(http, fal, url)
        stored = await submit_render(renders, media, tmp_path)
        await fal.complete()
        polled = await renders.maker.collect(stored, workdir=tmp_path)

    assert renders.inbox.deliveries == []
    stats = fal.stats()
    assert stats["webhooks"] == {"delivered": 0, "failed": 1, "rejected_answers": 3}  # 401, retried, given up
    assert polled is not None and (polled.width, polled.height) == (720, 1280)


async def test_without_a_webhook_the_render_is_collected_by_polling(
    http: httpx.AsyncClient, fal: FakeFal, verifier: FalWebhookVerifier, media: Path, tmp_path: Path
) -> None:
    renders = Renders(tmp_path)
    fal.script_webhook(skip=True)
    async with webhook_receiver(verifier, renders.on_event) as url:
        renders.maker = render_maker(http, fal, url)
        stored = await submit_render(renders, media, tmp_path)
        await fal.complete()
        polled = await renders.maker.collect(stored, workdir=tmp_path)

    assert renders.inbox.deliveries == []
    assert polled is not None
    assert fal.stats()["submissions"][0]["webhook_state"] == "skipped"


async def test_a_refused_render_arrives_as_a_failed_webhook(
    http: httpx.AsyncClient, fal: FakeFal, verifier: FalWebhookVerifier, media: Path, tmp_path: Path
) -> None:
    renders = Renders(tmp_path)
    fal.fail_run("The image violates the content policy", error_type="content_policy_violation")
    async with webhook_receiver(verifier, renders.on_event) as url:
        renders.maker = render_maker(http, fal, url)
        await submit_render(renders, media, tmp_path)
        await fal.complete()

    ((event, _),) = renders.inbox.deliveries
    (failure,) = renders.failures
    assert event.failed
    assert (failure.reason, failure.transient) == ("content_refused", False)
    assert "violates the content policy" in failure.detail


async def test_a_webhook_that_comes_late_still_arrives(
    http: httpx.AsyncClient, verifier: FalWebhookVerifier, media: Path, tmp_path: Path
) -> None:
    inbox = Inbox()
    async with (
        fal_server(latency=0) as fal,
        webhook_receiver(webhook_verifier(http, fal), inbox.on_event) as url,
    ):
        fal.script_webhook(delay=0.2)
        await render_maker(http, fal, url).submit(
            media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path, reference="g7"
        )
        await fal.complete()  # returns once the delayed delivery is done

    ((event, query),) = inbox.deliveries
    assert (event.status, query) == ("OK", {"ref": "g7"})


async def test_a_processing_failure_makes_fal_deliver_again(
    http: httpx.AsyncClient, fal: FakeFal, verifier: FalWebhookVerifier, media: Path, tmp_path: Path
) -> None:
    inbox = Inbox()
    calls = 0

    async def flaky(event: FalWebhookEvent, query: Mapping[str, str]) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database is restarting")
        return await inbox.on_event(event, query)

    async with webhook_receiver(verifier, flaky) as url:
        await render_maker(http, fal, url).submit(
            media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path, reference="g1"
        )
        await fal.complete()

    assert calls == 2
    assert len(inbox.seen) == 1
    assert fal.stats()["webhooks"]["delivered"] == 1


# -- the endpoint's answers -------------------------------------------------------------------------------


async def test_the_endpoint_answers_as_fal_expects(
    http: httpx.AsyncClient, fal: FakeFal, verifier: FalWebhookVerifier, clock: SettableClock
) -> None:
    inbox = Inbox()
    async with webhook_receiver(verifier, inbox.on_event) as url:
        signed = await http.post(
            url, content=BODY, headers=fal.sign_webhook(BODY, "req-1", timestamp=now(clock))
        )
        again = await http.post(
            url, content=BODY, headers=fal.sign_webhook(BODY, "req-1", timestamp=now(clock))
        )
        unsigned = await http.post(url, content=BODY)
        garbage = b"{not json"
        malformed = await http.post(
            url, content=garbage, headers=fal.sign_webhook(garbage, "req-1", timestamp=now(clock))
        )

    assert (signed.status_code, signed.json()) == (200, {"ok": True, "duplicate": False})
    assert (again.status_code, again.json()) == (200, {"ok": True, "duplicate": True})
    assert unsigned.status_code == 401
    assert malformed.status_code == 400
    assert [event.request_id for event, _ in inbox.deliveries] == ["req-1", "req-1"]


async def test_while_fal_s_keys_cannot_be_fetched_fal_is_told_to_retry(
    http: httpx.AsyncClient, fal: FakeFal, verifier: FalWebhookVerifier, clock: SettableClock
) -> None:
    inbox = Inbox()
    fal.fail("jwks", 503)
    async with webhook_receiver(verifier, inbox.on_event) as url:
        first = await http.post(
            url, content=BODY, headers=fal.sign_webhook(BODY, "req-1", timestamp=now(clock))
        )
        retry = await http.post(
            url, content=BODY, headers=fal.sign_webhook(BODY, "req-1", timestamp=now(clock))
        )

    assert (first.status_code, retry.status_code) == (503, 200)
    assert len(inbox.deliveries) == 1  # processed only once it could be verified


async def test_a_webhook_without_a_payload_is_collected_from_the_queue(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    maker = render_maker(http, fal, None)
    stored = await maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)
    await fal.complete()
    request_id = fal.stats()["submissions"][0]["request_id"]
    event = FalWebhookEvent.from_body(
        json.dumps(
            {
                "request_id": request_id,
                "gateway_request_id": request_id,
                "status": "OK",
                "payload": None,
                "payload_error": "Response payload is not JSON serializable",
            }
        ).encode()
    )

    video = await maker.collect_event(stored, event, workdir=tmp_path)

    assert (video.width, video.height) == (720, 1280)
    assert fal.stats()["counters"]["result_calls"] == 1
