"""Signed, expiring URLs for the local storage: an HMAC over the key and the expiry, checked by the bot.

A directory has no SigV4 of its own, yet fal.ai must fetch photos and speech from it by URL. The bot signs
``key`` and ``expires`` with a key only it holds; the files route recomputes the signature, so a URL altered
to reach another object or to live longer is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from app.services.clock import Clock

MAX_URL_SECONDS = 604_800  # seven days, as S3 and R2 allow for their presigned URLs
MIN_SIGNING_KEY_BYTES = 16
# Part of every signed message, so a MAC made for another purpose with the same key never passes here.
_PURPOSE = b"ugcbot/files-url/v1"

Verdict = Literal["ok", "expired", "bad_signature"]


class UrlSigner:
    """Signs (key, expiry) pairs and checks them; the signing key never appears in its repr or errors."""

    def __init__(self, key: bytes, clock: Clock) -> None:
        if len(key) < MIN_SIGNING_KEY_BYTES:
            raise ValueError(f"a URL signing key needs at least {MIN_SIGNING_KEY_BYTES} bytes")
        self._key = key
        self._clock = clock

    def __repr__(self) -> str:
        return "UrlSigner(key=<hidden>)"

    def sign(self, key: str, expires_in: int) -> tuple[int, str]:
        """The unix time the URL stops working and the hex signature for ``key`` until then."""
        if (
            isinstance(expires_in, bool)
            or not isinstance(expires_in, int)
            or not 1 <= expires_in <= MAX_URL_SECONDS
        ):
            raise ValueError(f"signed URLs last 1–{MAX_URL_SECONDS} seconds, got {expires_in!r}")
        expires_ts = self._now() + expires_in
        return expires_ts, self._mac(key, expires_ts)

    def verify(self, key: str, expires_ts: int, sig: str) -> Verdict:
        """Whether ``sig`` was made by :meth:`sign` for exactly this key and expiry, and is still valid.

        The signature is checked first: an expiry pushed into the future is a bad signature, not a live URL.
        """
        expected = self._mac(key, expires_ts)
        if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
            return "bad_signature"
        if self._now() > expires_ts:
            return "expired"
        return "ok"

    def _mac(self, key: str, expires_ts: int) -> str:
        # Keys never contain a newline (validate_key), so "key\nexpiry" cannot be read two ways.
        message = b"\n".join([_PURPOSE, key.encode("utf-8", "surrogatepass"), str(expires_ts).encode()])
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _now(self) -> int:
        return int(self._clock.now().timestamp())


def derive_signing_key(secret: str, purpose: str = "files-url") -> bytes:
    """A signing key for ``purpose`` derived from a secret every process already has (e.g. the bot token).

    The bot (which serves ``/files``) and the workers (which hand URLs to fal.ai) must agree on the key
    without one more setting; deriving keeps the original secret out of the URL MAC.
    """
    if not secret:
        raise ValueError("cannot derive a signing key from an empty secret")
    return hmac.new(secret.encode(), f"ugcbot/{purpose}".encode(), hashlib.sha256).digest()
