"""Prometheus metrics of one process (``GET /metrics``) and the ``/health`` checks of storage and the queue.

Every instrument lives on the registry of one :class:`Metrics`, built by the composition root: nothing is
registered on prometheus-client's process-wide default registry, so tests and several runtimes in one
process never collide.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from redis.asyncio import Redis
from tortoise.functions import Count

from app.db.models import Generation, GenerationStep
from app.domain.generations import GenerationStatus
from app.domain.steps import Step, StepStatus
from app.logs import get_logger
from app.services.providers import ObjectStorage, ProviderError
from app.web import HealthCheck

log = get_logger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
MetricsHandler = Callable[[web.Request], Awaitable[web.Response]]

# Talking-video renders take minutes; speech and look edits seconds: buckets cover both.
PROVIDER_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0)
# How long a scrape waits for the job counts before it answers with the last ones.
REFRESH_TIMEOUT = 2.0
# The object /health asks storage about; it never exists, and "no such object" is a working answer.
PROBE_KEY = "health/probe"
UNKNOWN_UPDATE = "unknown"


class Metrics:
    """The process's instruments and their registry; passed to whatever records into them."""

    def __init__(self, *, timer: Callable[[], float] = time.perf_counter) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._timer = timer
        registry = self.registry
        self.updates = Counter(
            "ugc_updates_total", "Telegram updates handled, by type", ["type"], registry=registry
        )
        self.handler_seconds = Histogram(
            "ugc_handler_seconds", "Time to handle one Telegram update, by type", ["type"], registry=registry
        )
        self.jobs = Gauge("ugc_jobs", "Generations in the database, by status", ["status"], registry=registry)
        self.job_steps = Gauge(
            "ugc_job_steps",
            "Pipeline steps in the database, by step and status",
            ["step", "status"],
            registry=registry,
        )
        self.refresh_failures = Counter(
            "ugc_metrics_refresh_failures_total",
            "Scrapes that could not read job counts from the database (ugc_jobs kept its last values)",
            registry=registry,
        )
        self.provider_seconds = Histogram(
            "ugc_provider_seconds",
            "Latency of calls to outside providers, by provider and operation",
            ["provider", "operation"],
            buckets=PROVIDER_BUCKETS,
            registry=registry,
        )
        self.provider_errors = Counter(
            "ugc_provider_errors_total",
            "Failed calls to outside providers, by provider and failure reason",
            ["provider", "reason"],
            registry=registry,
        )
        self.credits = Counter(
            "ugc_credits_moved_total",
            "Credits moved by the ledger, by reason and direction (in: to users, out: from users)",
            ["reason", "direction"],
            registry=registry,
        )
        self.videos_finished = Counter(
            "ugc_videos_finished_total",
            "Generations that ended, by final status",
            ["status"],
            registry=registry,
        )

    # --- recording ---------------------------------------------------------------------------------------

    def observe_provider(self, provider: str, operation: str, seconds: float) -> None:
        self.provider_seconds.labels(provider=provider, operation=operation).observe(seconds)

    def provider_error(self, provider: str, reason: str) -> None:
        self.provider_errors.labels(provider=provider, reason=reason).inc()

    @asynccontextmanager
    async def time_provider(self, provider: str, operation: str) -> AsyncIterator[None]:
        """Time the block as one provider call; a ``ProviderError`` is counted by its reason and re-raised.

        A cancelled call (shutdown, a job's time limit) is neither timed nor counted: the provider did not
        fail, we stopped waiting."""
        started = self._timer()
        try:
            yield
        except ProviderError as exc:
            self.observe_provider(provider, operation, self._timer() - started)
            self.provider_error(provider, exc.reason)
            raise
        self.observe_provider(provider, operation, self._timer() - started)

    def credits_moved(self, reason: str, delta: int) -> None:
        """One ledger entry: ``delta`` > 0 credits a user, < 0 debits one."""
        if delta:
            self.credits.labels(reason=reason, direction="in" if delta > 0 else "out").inc(abs(delta))

    def video_finished(self, status: str) -> None:
        self.videos_finished.labels(status=status).inc()

    def update_handled(self, update_type: str, seconds: float) -> None:
        self.updates.labels(type=update_type).inc()
        self.handler_seconds.labels(type=update_type).observe(seconds)

    # --- database gauges ---------------------------------------------------------------------------------

    async def refresh_from_db(self) -> None:
        """Set ``ugc_jobs`` and ``ugc_job_steps`` from the database; a status with no rows reads 0."""
        jobs = await generation_counts()
        steps = await step_counts()
        # Set only after both queries answered, so one scrape never shows half-old, half-new numbers.
        self.jobs.clear()
        for status in GenerationStatus:
            self.jobs.labels(status=status.value).set(0)
        for status_name, count in jobs.items():
            self.jobs.labels(status=status_name).set(count)
        self.job_steps.clear()
        for step in Step:
            for step_status in StepStatus:
                self.job_steps.labels(step=step.value, status=step_status.value).set(0)
        for (step_name, status_name), count in steps.items():
            self.job_steps.labels(step=step_name, status=status_name).set(count)

    async def refresh_soft(self, limit: float = REFRESH_TIMEOUT) -> bool:
        """:meth:`refresh_from_db` within ``limit`` seconds; False (logged, counted) when it failed."""
        try:
            async with asyncio.timeout(limit):
                await self.refresh_from_db()
        except Exception as exc:  # a scrape must answer even when the database does not
            self.refresh_failures.inc()
            log.warning("metrics: job counts not refreshed", error=f"{type(exc).__name__}: {exc}")
            return False
        return True

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


async def generation_counts() -> dict[str, int]:
    """Generations per status."""
    rows = await Generation.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    return {str(status): int(n) for status, n in rows}


async def step_counts() -> dict[tuple[str, str], int]:
    """Pipeline steps per (step, status)."""
    rows = (
        await GenerationStep.annotate(n=Count("id"))
        .group_by("step", "status")
        .values_list("step", "status", "n")
    )
    return {(str(step), str(status)): int(n) for step, status, n in rows}


class UpdateMetricsMiddleware(BaseMiddleware):
    """Outer ``dispatcher.update`` middleware: counts and times every update by its type, failed ones too."""

    def __init__(self, metrics: Metrics, *, timer: Callable[[], float] = time.perf_counter) -> None:
        self._metrics = metrics
        self._timer = timer

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update_type = _update_type(event)
        started = self._timer()
        try:
            return await handler(event, data)
        finally:
            self._metrics.update_handled(update_type, self._timer() - started)


def _update_type(event: TelegramObject) -> str:
    if not isinstance(event, Update):
        return UNKNOWN_UPDATE
    try:
        return event.event_type
    except Exception:  # aiogram raises UpdateTypeLookupError for update types newer than itself
        return UNKNOWN_UPDATE


def metrics_handler(
    metrics: Metrics, *, token: str | None = None, refresh_timeout: float = REFRESH_TIMEOUT
) -> MetricsHandler:
    """``GET /metrics``: job counts refreshed from the database (at most ``refresh_timeout`` seconds), then
    the exposition. With ``token`` set, only a request with ``Authorization: Bearer <token>`` gets it."""
    expected = f"Bearer {token}".encode() if token else None

    async def handle(request: web.Request) -> web.Response:
        if expected is not None:
            given = request.headers.get("Authorization", "").encode()
            if not secrets.compare_digest(given, expected):
                return web.Response(status=401, text="Unauthorized")
        await metrics.refresh_soft(refresh_timeout)
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return handle


# --- /health ---------------------------------------------------------------------------------------------


def storage_check(storage: ObjectStorage) -> HealthCheck:
    """Up when the storage answers whether an object exists (the probe object need not exist)."""

    async def check() -> bool:
        await storage.exists(PROBE_KEY)
        return True

    return check


def queue_check(redis: Redis, queue_name: str) -> HealthCheck:
    """Up when Redis answers for the job queue's key; a long queue is still up (``ugc_jobs`` shows it)."""

    async def check() -> bool:
        await redis.zcard(queue_name)
        return True

    return check
