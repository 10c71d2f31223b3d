"""What the fal.ai tests share: a client pointed at the fake, a settable clock, logs captured unredacted."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import structlog

from app.logs import setup_logging
from app.services.fal import FalQueueClient
from tests.fakes.fal_server import FakeFal

MODEL = "fal-ai/bytedance/omnihuman/v1.5"


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
