"""A recording proxy in front of moto: shows what reaches the S3 API, and fails or holds chosen parts.

moto stores what it is sent but cannot say what was sent (part sizes, checksum headers) nor fail halfway
through an upload; this proxy can, while moto stays the store that tests read back from.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

# Hop-by-hop and length headers: aiohttp sets its own for the forwarded request and the answer.
_SKIP = frozenset({"host", "content-length", "transfer-encoding", "connection", "expect", "content-encoding"})

INTERNAL_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"
)


@dataclass(frozen=True)
class SeenRequest:
    method: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    size: int

    @property
    def part_number(self) -> int | None:
        return int(self.query["partNumber"]) if "partNumber" in self.query else None


@dataclass
class S3Proxy:
    upstream: str
    url: str = ""
    seen: list[SeenRequest] = field(default_factory=list)
    fail_part: int | None = None  # answer this UploadPart with 500 InternalError
    hold_part: int | None = None  # never answer this UploadPart; ``held`` is set when it arrives
    held: asyncio.Event = field(default_factory=asyncio.Event)

    def parts(self) -> list[SeenRequest]:
        return [r for r in self.seen if r.part_number is not None]

    def calls(self) -> list[str]:
        """What each request was, in S3 operation names."""
        return [_operation(r) for r in self.seen]


def _operation(request: SeenRequest) -> str:
    q = request.query
    if request.method == "POST" and "uploads" in q:
        return "CreateMultipartUpload"
    if request.method == "PUT" and "partNumber" in q:
        return "UploadPart"
    if request.method == "POST" and "uploadId" in q:
        return "CompleteMultipartUpload"
    if request.method == "DELETE" and "uploadId" in q:
        return "AbortMultipartUpload"
    if request.method == "PUT" and not q:
        return "PutObject"
    return f"{request.method} {sorted(q)}"


@asynccontextmanager
async def s3_proxy(upstream: str) -> AsyncIterator[S3Proxy]:
    proxy = S3Proxy(upstream)
    async with aiohttp.ClientSession(auto_decompress=False) as session:

        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            seen = SeenRequest(
                request.method,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                len(body),
            )
            proxy.seen.append(seen)
            if seen.part_number is not None and seen.part_number == proxy.fail_part:
                return web.Response(status=500, body=INTERNAL_ERROR, content_type="application/xml")
            if seen.part_number is not None and seen.part_number == proxy.hold_part:
                proxy.held.set()
                await asyncio.Event().wait()  # until the client hangs up
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP}
            target = URL(proxy.upstream + request.raw_path, encoded=True)
            async with session.request(request.method, target, headers=headers, data=body) as answer:
                content = await answer.read()
                back = {k: v for k, v in answer.headers.items() if k.lower() not in _SKIP}
                return web.Response(status=answer.status, body=content, headers=back)

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", handle)
        async with TestServer(app, host="127.0.0.1") as server:
            proxy.url = f"http://127.0.0.1:{server.port}"
            yield proxy
