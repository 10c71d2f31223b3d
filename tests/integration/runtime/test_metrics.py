"""``GET /metrics`` and ``/health`` over loopback, with job counts read from a real (SQLite) database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from app.db.models import Generation, GenerationStep, User
from app.db.setup import close_db, init_db
from app.jobs.queue import QUEUE_NAME
from app.metrics import Metrics, metrics_handler, queue_check, storage_check
from app.services.providers import ProviderError
from app.services.storage.local import LocalStorage
from app.web import HealthCheck, create_app
from tests.support.servers import free_port

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOKEN = "scrape-token-0123456789"

Client = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[str]:
    await init_db(sqlite_url)
    yield sqlite_url
    await close_db()


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    clients: list[TestClient[Any, Any]] = []

    async def make(app: web.Application) -> TestClient[Any, Any]:
        test_client: TestClient[Any, Any] = TestClient(TestServer(app))
        await test_client.start_server()
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        await test_client.close()


def app_with(
    metrics: Metrics, *, token: str | None = None, checks: dict[str, HealthCheck] | None = None
) -> web.Application:
    return create_app(
        title="UGC Bot",
        health_checks=checks or {},
        routes=[web.get("/metrics", metrics_handler(metrics, token=token, refresh_timeout=2.0))],
    )


async def scrape(http: TestClient[Any, Any], **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status == 200
    assert response.content_type == "text/plain"
    parsed: Samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            parsed[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return parsed


def at(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def generation(n: int, status: str, steps: dict[str, str]) -> None:
    if not await User.exists(id=1):
        await User.create(id=1, locale="en", created_at=NOW, last_seen_at=NOW)
    row = await Generation.create(
        user_id=1,
        confirm_key=f"confirm:{n}",
        draft_id=f"{n:032d}",
        locale="en",
        format="talking_head",
        character_id="anna",
        voice_id="en_ellie",
        script="Fresh coffee every morning.",
        speech_key=f"tmp/{n}/speech.wav",
        speech_seconds=2.0,
        status=status,
        cost=8,
        created_at=NOW,
    )
    for step, step_status in steps.items():
        await GenerationStep.create(generation_id=row.id, step=step, status=step_status, started_at=NOW)


async def test_metrics_show_jobs_from_the_database_and_what_the_process_recorded(
    db: str, client: Client
) -> None:
    await generation(1, "queued", {})
    await generation(2, "queued", {})
    await generation(3, "running", {"speech": "done", "video": "running"})
    await generation(4, "done", {"speech": "done", "video": "done", "store": "done", "deliver": "done"})
    await generation(5, "failed", {"speech": "done", "video": "running"})
    metrics = Metrics()
    metrics.video_finished("done")
    metrics.credits_moved("hold", -8)
    metrics.observe_provider("fal", "video_submit", 1.5)
    metrics.provider_error("fal", "provider_busy")
    http = await client(app_with(metrics))

    samples = await scrape(http)

    assert at(samples, "ugc_jobs", status="queued") == 2
    assert at(samples, "ugc_jobs", status="running") == 1
    assert at(samples, "ugc_jobs", status="done") == 1
    assert at(samples, "ugc_jobs", status="failed") == 1
    assert at(samples, "ugc_jobs", status="deleted") == 0
    assert at(samples, "ugc_job_steps", step="speech", status="done") == 3
    assert at(samples, "ugc_job_steps", step="video", status="running") == 2
    assert at(samples, "ugc_job_steps", step="video", status="done") == 1
    assert at(samples, "ugc_job_steps", step="captions", status="running") == 0
    assert at(samples, "ugc_videos_finished_total", status="done") == 1
    assert at(samples, "ugc_credits_moved_total", reason="hold", direction="out") == 8
    assert at(samples, "ugc_provider_seconds_count", provider="fal", operation="video_submit") == 1
    assert at(samples, "ugc_provider_errors_total", provider="fal", reason="provider_busy") == 1

    # Every scrape reads the database again: a job that finished moves from one status to the other.
    await Generation.filter(confirm_key="confirm:3").update(status="done")
    await GenerationStep.filter(step="video", status="running").update(status="done")
    samples = await scrape(http)
    assert at(samples, "ugc_jobs", status="running") == 0
    assert at(samples, "ugc_jobs", status="done") == 2
    assert at(samples, "ugc_job_steps", step="video", status="running") == 0
    assert at(samples, "ugc_job_steps", step="video", status="done") == 3


async def test_metrics_answer_with_the_last_counts_when_the_database_is_down(db: str, client: Client) -> None:
    await generation(1, "running", {"speech": "running"})
    metrics = Metrics()
    http = await client(app_with(metrics))
    assert at(await scrape(http), "ugc_jobs", status="running") == 1

    await close_db()
    samples = await scrape(http)

    assert at(samples, "ugc_jobs", status="running") == 1
    assert at(samples, "ugc_metrics_refresh_failures_total") == 1
    await init_db(db)


async def test_metrics_need_the_token_when_one_is_set(db: str, client: Client) -> None:
    http = await client(app_with(Metrics(), token=TOKEN))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await http.get("/metrics", headers=headers)
        assert response.status == 401
        assert "ugc_jobs" not in await response.text()
    samples = await scrape(http, Authorization=f"Bearer {TOKEN}")
    assert at(samples, "ugc_jobs", status="queued") == 0


class BrokenStorage:
    async def exists(self, key: str) -> bool:
        raise ProviderError("storage_failed", "InvalidAccessKeyId")


async def test_health_reports_storage_and_queue(tmp_path: Path, redis: Redis, client: Client) -> None:
    await redis.zadd(QUEUE_NAME, {"generation:1": 1, "generation:2": 2})
    dead_redis = Redis(port=free_port(), socket_connect_timeout=0.5)
    checks: dict[str, HealthCheck] = {
        "storage": storage_check(LocalStorage(tmp_path / "storage")),
        "queue": queue_check(redis, QUEUE_NAME),
    }
    http = await client(app_with(Metrics(), checks=checks))
    response = await http.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "storage": "ok", "queue": "ok"}

    broken: dict[str, HealthCheck] = {
        "storage": storage_check(BrokenStorage()),  # type: ignore[arg-type]
        "queue": queue_check(dead_redis, QUEUE_NAME),
    }
    http = await client(app_with(Metrics(), checks=broken))
    response = await http.get("/health")
    assert response.status == 503
    assert await response.json() == {"status": "degraded", "storage": "down", "queue": "down"}
    await dead_redis.aclose()
