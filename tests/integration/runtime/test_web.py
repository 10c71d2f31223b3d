"""The HTTP side over loopback: webhook secret, updates reaching handlers, /health, / and draining."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Message
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from app.web import SECRET_HEADER, HealthCheck, WebhookEndpoint, create_app
from tests.support.servers import free_port

SECRET = "s3cret_webhook-token"
UPDATE = {
    "update_id": 1001,
    "message": {
        "message_id": 5,
        "date": 1_790_000_000,
        "chat": {"id": 501, "type": "private"},
        "from": {"id": 501, "is_bot": False, "first_name": "Anna"},
        "text": "/start",
    },
}

Client = Callable[..., Awaitable[TestClient[Any, Any]]]


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


def webhook_app(received: list[str], *, delay: float = 0.0) -> tuple[web.Application, asyncio.Event]:
    dp = Dispatcher()
    arrived = asyncio.Event()

    @dp.message()
    async def on_message(message: Message) -> None:
        await asyncio.sleep(delay)
        received.append(message.text or "")
        arrived.set()

    endpoint = WebhookEndpoint(dp, Bot("42:TEST"), secret=SECRET)
    app = create_app(
        title="UGC Bot @ugc_test_bot", health_checks={}, webhook=endpoint, webhook_path="/webhook"
    )
    return app, arrived


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}])
async def test_wrong_or_missing_secret_is_refused_and_nothing_is_handled(
    client: Client, headers: dict[str, str]
) -> None:
    received: list[str] = []
    app, _ = webhook_app(received)
    http = await client(app)
    response = await http.post("/webhook", json=UPDATE, headers=headers)
    assert response.status == 401
    await asyncio.sleep(0.05)
    assert received == []


async def test_an_update_with_the_right_secret_reaches_its_handler(client: Client) -> None:
    received: list[str] = []
    app, arrived = webhook_app(received)
    http = await client(app)
    response = await http.post("/webhook", json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status == 200
    await asyncio.wait_for(arrived.wait(), 5)
    assert received == ["/start"]


async def test_garbage_is_a_400(client: Client) -> None:
    app, _ = webhook_app([])
    http = await client(app)
    response = await http.post("/webhook", data=b"not json", headers={SECRET_HEADER: SECRET})
    assert response.status == 400


async def test_shutdown_waits_for_updates_in_progress(client: Client) -> None:
    received: list[str] = []
    app, _ = webhook_app(received, delay=0.3)
    http = await client(app)
    response = await http.post("/webhook", json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status == 200 and received == []  # Telegram got its answer before the handler finished
    await http.close()
    assert received == ["/start"]


async def test_no_webhook_route_in_polling_mode(client: Client) -> None:
    http = await client(create_app(title="UGC Bot", health_checks={}))
    response = await http.post("/webhook", json=UPDATE, headers={SECRET_HEADER: SECRET})
    assert response.status in {404, 405}


async def test_index_names_the_bot(client: Client) -> None:
    http = await client(create_app(title="UGC Bot @ugc_test_bot", health_checks={}))
    response = await http.get("/")
    assert response.status == 200
    assert "UGC Bot @ugc_test_bot" in await response.text()


def redis_check(redis: Redis) -> HealthCheck:
    async def check() -> bool:
        return bool(await redis.ping())

    return check


async def db_ok() -> bool:
    return True


async def test_health_is_ok_when_every_dependency_answers(client: Client, redis: Redis) -> None:
    http = await client(create_app(title="UGC Bot", health_checks={"db": db_ok, "redis": redis_check(redis)}))
    response = await http.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "db": "ok", "redis": "ok"}


async def test_a_dead_redis_makes_health_degraded_503(client: Client) -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    http = await client(create_app(title="UGC Bot", health_checks={"db": db_ok, "redis": redis_check(dead)}))
    response = await http.get("/health")
    assert response.status == 503
    assert await response.json() == {"status": "degraded", "db": "ok", "redis": "down"}
    await dead.aclose()


async def test_a_hanging_dependency_counts_as_down(client: Client) -> None:
    async def hangs() -> bool:
        await asyncio.sleep(60)
        return True

    app = create_app(title="UGC Bot", health_checks={"db": hangs}, health_timeout=0.2)
    http = await client(app)
    response = await http.get("/health")
    assert response.status == 503 and (await response.json())["db"] == "down"
