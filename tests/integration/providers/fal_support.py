"""What the fal.ai tests share: a client pointed at the fake, a settable clock, logs captured unredacted,
and a running webhook receiver."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from aiohttp import web

from app.logs import setup_logging
from app.services.clock import Clock
from app.services.fal import FalQueueClient
from app.services.fal.webhook import FalWebhookEndpoint, FalWebhookEvent, FalWebhookVerifier, OnEvent
from tests.fakes.fal_server import FakeFal

MODEL = "fal-ai/bytedance/omnihuman/v1.5"
WEBHOOK_PATH = "/fal/webhook"


class SettableClock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


def queue_client(
    http: httpx.AsyncClient,
    fal: FakeFal,
    *,
    key: str | None = None,
    tries: int = 3,
    clock: SettableClock | None = None,
) -> FalQueueClient:
    """A client for the fake with the production retry policy, only with millisecond pauses."""
    return FalQueueClient(
        http,
        fal.key if key is None else key,
        queue_url=fal.url,
        rest_url=fal.url,
        upload_url=fal.url,
        tries=tries,
        first_backoff=0.01,
        max_backoff=0.05,
        clock=clock,
    )


@contextmanager
def all_logs() -> Iterator[io.StringIO]:
    """Every log line at DEBUG, with no secret registered for redaction: what the code itself lets out."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    setup_logging(fmt="console", level="DEBUG", secrets=(), stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.reset_defaults()


def webhook_verifier(
    http: httpx.AsyncClient, fal: FakeFal, *, clock: Clock | None = None, refetch_interval: float = 60.0
) -> FalWebhookVerifier:
    """A verifier reading the fake's JWKS, with the production leeway and cache."""
    return FalWebhookVerifier(
        http, jwks_url=f"{fal.url}/.well-known/jwks.json", clock=clock, refetch_interval=refetch_interval
    )


@dataclass
class Inbox:
    """What the webhook receiver was handed: every verified delivery, and which ones were new."""

    deliveries: list[tuple[FalWebhookEvent, dict[str, str]]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    async def on_event(self, event: FalWebhookEvent, query: Mapping[str, str]) -> bool:
        self.deliveries.append((event, dict(query)))
        if event.request_id in self.seen:
            return False
        self.seen.add(event.request_id)
        return True


@asynccontextmanager
async def webhook_receiver(verifier: FalWebhookVerifier, on_event: OnEvent) -> AsyncIterator[str]:
    """Our ``POST /fal/webhook`` on a loopback port; yields its URL."""
    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, FalWebhookEndpoint(verifier, on_event).handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # port 0: ask the OS
    try:
        yield f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    finally:
        await runner.cleanup()
