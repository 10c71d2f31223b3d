"""``GET /files/{key}``: serves a local storage object to whoever holds a URL the storage signed.

fal.ai fetches photos and speech by URL; with the embedded storage those URLs point here. Only a valid,
unexpired signature opens a file, the key must pass ``validate_key`` and stay inside the root, and a folder
is never listed.
"""

from __future__ import annotations

import mimetypes

from aiohttp import web

from app.logs import get_logger
from app.services.storage.local import LocalStorage
from app.services.storage.signing import UrlSigner

log = get_logger(__name__)

ROUTE = "/files/{key:.+}"
# Types of what the bot stores, fixed here: the system's mime.types differs between machines.
_MEDIA_TYPES = {
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".ass": "text/x-ssa",
}
_FALLBACK_TYPE = "application/octet-stream"


class LocalFilesRoute:
    """Add with ``app.router.add_get(ROUTE, route.handle)``; aiohttp answers HEAD through the same handler."""

    def __init__(self, storage: LocalStorage) -> None:
        signer = storage.signer
        if signer is None:
            raise ValueError("serving /files needs a LocalStorage made with public_url and signing_key")
        self._storage = storage
        self._signer: UrlSigner = signer
        self._types = mimetypes.MimeTypes(filenames=())  # built-in table only, the same on every machine

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        expires, signature = request.query.get("expires"), request.query.get("signature")
        if not expires or not signature:
            return _refuse(key, "missing", "Forbidden: the link is not signed")
        if not expires.isdigit() or len(expires) > 12:
            return _refuse(key, "bad_signature", "Forbidden: the link's signature does not match")
        verdict = self._signer.verify(key, int(expires), signature)
        if verdict == "bad_signature":
            return _refuse(key, verdict, "Forbidden: the link's signature does not match")
        if verdict == "expired":
            return _refuse(key, verdict, "Forbidden: the link has expired")
        path = self._storage.file_for(key)
        if path is None:
            return web.Response(status=404, text="Not Found")
        return web.FileResponse(
            path,
            headers={
                "Content-Type": self._content_type(key),
                "X-Content-Type-Options": "nosniff",
                # The URL is a capability: keep shared caches from keeping a copy past its expiry.
                "Cache-Control": "private, no-store",
            },
        )

    def _content_type(self, key: str) -> str:
        suffix = key[key.rfind(".") :].lower() if "." in key.rsplit("/", 1)[-1] else ""
        if suffix in _MEDIA_TYPES:
            return _MEDIA_TYPES[suffix]
        guessed, _ = self._types.guess_type(key, strict=False)
        return guessed or _FALLBACK_TYPE


def _refuse(key: str, reason: str, text: str) -> web.Response:
    # The key is no secret; the signature is left out of the log all the same.
    log.info("files: request refused", key=key[:200], reason=reason)
    return web.Response(status=403, text=text)
