"""fal.ai's completion webhooks: check that fal sent them, then hand the outcome to whoever waits for it.

What is confirmed and what is not (docs/external-apis.md §1):

- confirmed by fal's docs and the official client (fal-ai/fal ``fal_client``): the webhook is asked for with
  the submit query ``fal_webhook=<url>``; the body is ``{request_id, gateway_request_id, status: "OK"|"ERROR",
  payload, error?, payload_error?}``; fal retries a failed delivery 10 times over 2 hours; fal signs each
  delivery and publishes the public keys as a JWKS. ``fal_client`` itself ships no verifier.
- UNVERIFIED (consistent across several third-party verifiers, not read in fal's own text): the header names
  ``X-Fal-Webhook-{Request-Id,User-Id,Timestamp,Signature}``, the hex signature, the signed message
  ``"{request_id}\\n{user_id}\\n{timestamp}\\n{sha256_hex(body)}"``, Ed25519 keys as OKP JWKs at
  ``https://rest.alpha.fal.ai/.well-known/jwks.json``, and the ±300 s window. Hence the JWKS URL and the
  leeway are parameters, and a key set that verifies nothing is fetched again once (a rotation).

A webhook is only a hint that saves polling: the worker still polls when none comes, so rejecting a doubtful
one costs a little latency, never a result.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.logs import get_logger
from app.services.clock import Clock, SystemClock

log = get_logger(__name__)

DEFAULT_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
REQUEST_ID_HEADER = "X-Fal-Webhook-Request-Id"
USER_ID_HEADER = "X-Fal-Webhook-User-Id"
TIMESTAMP_HEADER = "X-Fal-Webhook-Timestamp"
SIGNATURE_HEADER = "X-Fal-Webhook-Signature"
SIGNATURE_BYTES = 64
MAX_SIGNATURE_HEX = 2 * SIGNATURE_BYTES
MAX_JWKS_BYTES = 64 * 1024

WebhookStatus = Literal["OK", "ERROR"]


class WebhookRejected(Exception):  # noqa: N818  # names the outcome at the raise site
    """The delivery is not provably fal's (signature, headers, timestamp): answered 401, not processed."""


class WebhookKeysUnavailable(Exception):  # noqa: N818
    """fal's public keys could not be fetched: answered 503, so fal delivers again later."""


@dataclass(frozen=True, slots=True)
class FalWebhookEvent:
    """One verified webhook body: how a queued request ended."""

    request_id: str
    gateway_request_id: str
    status: WebhookStatus
    payload: dict[str, Any] | None
    error: str | None = None
    payload_error: str | None = None  # fal could not serialise the output: fetch it from the queue

    @property
    def failed(self) -> bool:
        return self.status == "ERROR"

    @property
    def error_types(self) -> tuple[str, ...]:
        """The error types fal put in a failed run's payload (``error_type``, ``detail[].type``)."""
        if self.payload is None:
            return ()
        found = [self.payload.get("error_type")]
        detail = self.payload.get("detail")
        if isinstance(detail, list):
            found += [item.get("type") for item in detail if isinstance(item, dict)]
        return tuple(str(kind) for kind in found if isinstance(kind, str) and kind)

    @property
    def message(self) -> str:
        """What went wrong: fal's ``error`` (often just "Invalid status code: 422") and the details."""
        details: list[str] = []
        detail = self.payload.get("detail") if self.payload is not None else None
        if isinstance(detail, str):
            details.append(detail)
        elif isinstance(detail, list):
            details += [str(item["msg"]) for item in detail if isinstance(item, dict) and item.get("msg")]
        parts = [self.error or "", *details] if self.failed else [self.payload_error or ""]
        return ": ".join(part for part in parts if part) or "no message"

    @classmethod
    def from_body(cls, body: bytes) -> FalWebhookEvent:
        """The event in a raw webhook body; ``ValueError`` when it is not fal's documented shape."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("the webhook body is not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("the webhook body is not a JSON object")
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise ValueError("the webhook body has no request_id")
        status = data.get("status")
        if status not in ("OK", "ERROR"):
            raise ValueError(f"the webhook status is {str(status)[:20]!r}, not OK or ERROR")
        payload = data.get("payload")
        if payload is not None and not isinstance(payload, dict):
            raise ValueError("the webhook payload is not a JSON object")
        gateway = data.get("gateway_request_id")
        return cls(
            request_id=request_id,
            gateway_request_id=gateway if isinstance(gateway, str) and gateway else request_id,
            status="OK" if status == "OK" else "ERROR",
            payload=payload,
            error=_text(data.get("error")),
            payload_error=_text(data.get("payload_error")),
        )


@dataclass(frozen=True, slots=True)
class _KeySet:
    keys: tuple[Ed25519PublicKey, ...]
    fetched_at: datetime


class FalWebhookVerifier:
    """Checks a delivery's Ed25519 signature against fal's JWKS, fetched lazily and cached.

    ``http`` belongs to the caller. A key set that verifies nothing is fetched again — at most once per
    ``refetch_interval`` seconds, so a flood of forged deliveries cannot turn into a flood of JWKS requests.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        jwks_url: str = DEFAULT_JWKS_URL,
        leeway: float = 300.0,
        cache_seconds: float = 86_400.0,
        refetch_interval: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        if leeway <= 0 or cache_seconds <= 0 or refetch_interval < 0:
            raise ValueError("leeway and cache_seconds must be positive, refetch_interval not negative")
        self._http = http
        self._jwks_url = jwks_url
        self._leeway = leeway
        self._cache = timedelta(seconds=cache_seconds)
        self._refetch = timedelta(seconds=refetch_interval)
        self._clock = clock or SystemClock()
        self._keys: _KeySet | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"FalWebhookVerifier(jwks_url={self._jwks_url!r})"

    async def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Return if fal signed ``body`` recently, else raise WebhookRejected or WebhookKeysUnavailable."""
        request_id, user_id, stamp, signature = (
            _header(headers, name)
            for name in (REQUEST_ID_HEADER, USER_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
        )
        if not (request_id and user_id and stamp and signature):
            raise WebhookRejected("a signature header is missing")
        try:
            moment = int(stamp)
        except ValueError:
            raise WebhookRejected(f"the timestamp is not a number: {stamp[:20]!r}") from None
        skew = self._clock.now().timestamp() - moment
        if abs(skew) > self._leeway:
            raise WebhookRejected(f"the timestamp is {skew:.0f} s off (more than {self._leeway:g} s)")
        try:
            raw_signature = bytes.fromhex(signature) if len(signature) <= MAX_SIGNATURE_HEX else b""
        except ValueError:
            raw_signature = b""
        if len(raw_signature) != SIGNATURE_BYTES:
            raise WebhookRejected("the signature is not 64 bytes of hex")
        digest = hashlib.sha256(body).hexdigest()
        message = f"{request_id}\n{user_id}\n{stamp}\n{digest}".encode()
        keys, fresh = await self._key_set(force=False)
        if _verifies(keys.keys, raw_signature, message):
            return
        if not fresh and self._clock.now() - keys.fetched_at >= self._refetch:
            log.info("no fal webhook key verifies: fetching the key set again")
            keys, _ = await self._key_set(force=True)
            if _verifies(keys.keys, raw_signature, message):
                return
        raise WebhookRejected("no key of fal's key set verifies the signature")

    async def _key_set(self, *, force: bool) -> tuple[_KeySet, bool]:
        """The cached keys, or new ones (then ``True``); a stale set still serves when fal's JWKS is down."""
        async with self._lock:
            cached = self._keys
            now = self._clock.now()
            if cached is not None and not force and now - cached.fetched_at < self._cache:
                return cached, False
            if cached is not None and force and now - cached.fetched_at < self._refetch:
                return cached, False  # another delivery refetched a moment ago
            try:
                keys = await self._fetch()
            except WebhookKeysUnavailable as exc:
                if cached is None or force:
                    raise
                log.warning("fal webhook keys not refreshed, using the cached ones", error=str(exc))
                return cached, False
            self._keys = _KeySet(keys, now)
            log.info("fal webhook keys fetched", keys=len(keys))
            return self._keys, True

    async def _fetch(self) -> tuple[Ed25519PublicKey, ...]:
        what = f"fal webhook keys from {self._jwks_url}"
        try:
            response = await self._http.get(self._jwks_url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise WebhookKeysUnavailable(f"{what}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise WebhookKeysUnavailable(f"{what}: HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise WebhookKeysUnavailable(f"{what}: larger than {MAX_JWKS_BYTES} bytes")
        try:
            data = response.json()
        except ValueError:
            raise WebhookKeysUnavailable(f"{what}: not JSON") from None
        entries = data.get("keys") if isinstance(data, dict) else None
        keys = tuple(key for entry in entries or [] if (key := _ed25519(entry)) is not None)
        if not keys:
            raise WebhookKeysUnavailable(f"{what}: no Ed25519 key in the set")
        return keys


OnEvent = Callable[[FalWebhookEvent, Mapping[str, str]], Awaitable[bool]]


class FalWebhookEndpoint:
    """The aiohttp handler for ``POST /fal/webhook``: verify, parse, hand over, answer as fal expects.

    ``on_event(event, query)`` gets the verified event and the URL's query (our own reference, e.g.
    ``ref=g42``); it returns False for a delivery it had already processed, which is still answered 200 so
    fal stops retrying. A failing ``on_event`` is answered 500, so fal delivers again.
    """

    def __init__(self, verifier: FalWebhookVerifier, on_event: OnEvent) -> None:
        self._verifier = verifier
        self._on_event = on_event

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            await self._verifier.verify(request.headers, body)
        except WebhookRejected as exc:
            log.warning("fal webhook rejected", reason=str(exc), remote=request.remote)
            return web.json_response({"detail": "invalid signature"}, status=401)
        except WebhookKeysUnavailable as exc:
            log.error("fal webhook not verifiable now", reason=str(exc))
            return web.json_response({"detail": "verification unavailable"}, status=503)
        try:
            event = FalWebhookEvent.from_body(body)
        except ValueError as exc:
            log.warning("fal webhook body unreadable", reason=str(exc))
            return web.json_response({"detail": str(exc)}, status=400)
        try:
            fresh = await self._on_event(event, request.query)
        except Exception:
            log.exception("fal webhook processing failed", request_id=event.request_id)
            return web.json_response({"detail": "processing failed"}, status=500)
        log.info(
            "fal webhook received", request_id=event.request_id, status=event.status, duplicate=not fresh
        )
        return web.json_response({"ok": True, "duplicate": not fresh})


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header by name whatever its case (aiohttp's headers are case-insensitive, a plain dict is not)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value.strip() if isinstance(value, str) else ""


def _ed25519(entry: Any) -> Ed25519PublicKey | None:
    """The public key of an OKP/Ed25519 JWK (``x`` base64url, unpadded); None for any other entry."""
    if not isinstance(entry, dict) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
        return None
    x = entry.get("x")
    if not isinstance(x, str):
        return None
    try:
        raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error):
        return None


def _verifies(keys: tuple[Ed25519PublicKey, ...], signature: bytes, message: bytes) -> bool:
    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
