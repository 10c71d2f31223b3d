"""Issue 5's "done when": two bot processes and two workers — as on separate machines, sharing only Redis,
PostgreSQL and the S3 API server — driven through the local Bot API server, deliver both formats with
captions; the talking videos come from the (fake) fal.ai OmniHuman queue, each submitted exactly once."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import ClientSession, web
from PIL import Image, ImageChops, ImageStat

from app.services.storage.s3 import S3Storage
from tests.e2e.conftest import (
    ROOT,
    BotProcess,
    Process,
    _wait_healthy,
    fake_fal_process,
    fal_stats,
    spawn,
    start_worker,
)
from tests.fakes.fal_server import DEFAULT_KEY
from tests.integration.create.chat import Chat, labels, shown
from tests.integration.create.media import ffprobe, make_media
from tests.integration.create.steps import CONFIRM, GALLERY, LOOK, SCRIPT, TAKE, VOICES, button
from tests.support.localtg import ControlClient, ServerProcess
from tests.support.s3 import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY
from tests.support.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
USER = 7301
READY = "is ready!"
SECRET = "two-bots-one-webhook"


class RoundRobin:
    """The load balancer in front of the bots: Telegram's webhook POSTs go to each bot in turn."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.served: dict[str, int] = dict.fromkeys(backends, 0)
        self._next = itertools.cycle(backends)
        self._session: ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        assert self._session is not None
        backend = next(self._next)
        self.served[backend] += 1
        headers = {
            k: v for k, v in request.headers.items() if k.lower().startswith(("x-telegram", "content-type"))
        }
        async with self._session.post(backend, data=await request.read(), headers=headers) as answer:
            return web.Response(status=answer.status, body=await answer.read())

    async def serve(self, port: int) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_post("/webhook", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self._session = ClientSession()
        try:
            yield f"http://127.0.0.1:{port}/webhook"
        finally:
            await self._session.close()
            await runner.cleanup()


def frame(video: Path, at: float, dest: Path) -> Image.Image:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-y", "-v", "error", "-ss", f"{at:.2f}", "-i", str(video), "-frames:v", "1",
         str(dest)],
        check=True,
    )  # fmt: skip
    with Image.open(dest) as opened:
        return opened.convert("L")


def caption_band_difference(before: Path, after: Path, at: float, workdir: Path) -> tuple[float, float]:
    """Mean difference of the two videos' frames at ``at``: in the caption band, and in the top half."""
    a, b = frame(before, at, workdir / "a.png"), frame(after, at, workdir / "b.png")
    diff = ImageChops.difference(a, b)
    width, height = diff.size
    band = ImageStat.Stat(diff.crop((0, height * 55 // 100, width, height * 95 // 100))).mean[0]
    top = ImageStat.Stat(diff.crop((0, 0, width, height // 2))).mean[0]
    return band, top


async def make_video(chat: Chat, script: str) -> dict[str, Any]:
    voices = await chat.tap("Keep this look →", VOICES)
    await chat.tap(button(voices, "✅ Pick"), SCRIPT)
    await chat.say(script, TAKE)
    confirm = await chat.tap("✅ Sounds good →", CONFIRM)
    result = await chat.tap(button(confirm, "💳 Pay"), READY, within=180)
    assert labels(result)[:2] == ["🎬 New video", "📝 Same setup, new text"], labels(result)
    assert "omnihuman" in shown(result), "the provider is named: this is not the local render"
    return result


@dataclass
class Cluster:
    """What the bots and workers share (and nothing else): Redis, PostgreSQL, S3, fal.ai, Telegram."""

    env: dict[str, str]
    database: str
    bucket: str
    s3_endpoint: str
    fal_url: str
    fal: Process


@pytest.fixture
async def cluster(
    telegram: ServerProcess,
    clean_redis_url: str,
    s3_endpoint: str,
    new_postgres_database: Callable[[], Awaitable[str]],
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    database = await new_postgres_database()
    bucket = f"ugc-{uuid.uuid4().hex[:16]}"
    with fake_fal_process(tmp_path, latency="1-2", video="render") as (fal_url, fal):
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "REDIS_"))},
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_URL": telegram.url,
            "DATABASE_URL": database,
            "REDIS_URL": clean_redis_url,
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT_URL": s3_endpoint,
            "S3_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
            "S3_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY,
            "S3_REGION": "us-east-1",
            "VIDEO_PROVIDER": "omnihuman",
            "FAL_KEY": DEFAULT_KEY,
            "FAL_QUEUE_URL": fal_url,
            "FAL_REST_URL": fal_url,
            "FAL_UPLOAD_URL": fal_url,
            "RUN_WORKER": "false",
            "PROVIDER_POLL_SECONDS": "0.5",
            "WORKER_POLL_SECONDS": "0.2",
            "WELCOME_BONUS": "100",
            "WEBHOOK_SECRET": SECRET,
            "LOG_FORMAT": "json",
        }
        migrate = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", "migrate", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await migrate.communicate()
        assert migrate.returncode == 0, output.decode()
        yield Cluster(env, database, bucket, s3_endpoint, fal_url, fal)


async def test_two_bots_and_two_workers_deliver_both_formats_with_captions(
    cluster: Cluster, tg: ControlClient, tmp_path: Path
) -> None:
    proxy_port = free_port()
    bot_ports = [free_port(), free_port()]
    common = cluster.env | {"WEBHOOK_URL": f"http://127.0.0.1:{proxy_port}/webhook"}
    balancer = RoundRobin([f"http://127.0.0.1:{port}/webhook" for port in bot_ports])
    serving = balancer.serve(proxy_port)
    await serving.__anext__()
    processes: list[Process] = []
    try:
        for n, port in enumerate(bot_ports, 1):
            # Each process has its own DATA_DIR: nothing is shared but Redis, PostgreSQL and S3.
            env = common | {"WEB_PORT": str(port), "DATA_DIR": str(tmp_path / f"bot{n}")}
            bot = spawn(f"bot{n}", [sys.executable, "-m", "app", "run"], env, tmp_path / f"bot{n}.log")
            processes.append(bot)
            await asyncio.to_thread(
                _wait_healthy, BotProcess(bot.process, f"http://127.0.0.1:{port}", bot.log)
            )
        metrics_ports = [free_port(), free_port()]
        for n, metrics_port in enumerate(metrics_ports, 1):
            env = common | {"DATA_DIR": str(tmp_path / f"worker{n}"), "METRICS_PORT": str(metrics_port)}
            processes.append(
                await asyncio.to_thread(start_worker, env, tmp_path / f"worker{n}.log", f"worker{n}")
            )
        await _drive(tg, tmp_path)
        await _check(cluster, tmp_path)
        # What the workers recorded is scraped from each worker's own METRICS_PORT.
        submits = 0.0
        async with httpx.AsyncClient(timeout=5) as http:
            for port in metrics_ports:
                text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                health = (await http.get(f"http://127.0.0.1:{port}/health")).json()
                assert health["status"] == "ok" and health["storage"] == health["queue"] == "ok", health
                for line in text.splitlines():
                    if line.startswith('ugc_provider_seconds_count{operation="video_submit"'):
                        submits += float(line.rsplit(" ", 1)[1])
        assert submits == 2, "each render's submit timed by the worker that made it"
        assert all(count > 0 for count in balancer.served.values()), balancer.served
    finally:
        stopped = [proc.stop_quietly() for proc in processes]
        for proc in processes:
            print(f"--- {proc.name} ---\n{proc.output()[-6000:]}")
        print(f"--- fake fal.ai ---\n{cluster.fal.output()[-3000:]}")
        await serving.aclose()
    assert None not in stopped, "every process stopped on SIGTERM"


async def _drive(tg: ControlClient, tmp_path: Path) -> None:
    await tg.create_user(USER, "Dana", language_code="en")
    chat = Chat(tg, USER)
    await chat.say("/start", "UGC Bot")

    await chat.tap("🎬 Create video", "Choose the format")
    await chat.tap("🗣 Talking head", "Who will star")
    await chat.tap("👩 A woman", GALLERY)
    await chat.tap("✅ Pick Anna", LOOK)
    head = await make_video(chat, "Hello! Meet our new face cream. It smells of summer.")

    await chat.tap("🎬 New video", "Choose the format", on=head)
    await chat.tap("🎞 Character over your video", "Send the background video")
    background = make_media(tmp_path).background
    await chat.upload(background, kind="video", file_name="shop.mp4", expect="Background received")
    await chat.tap("Continue →", "Who will star")
    gallery = await chat.tap("👨 A man", GALLERY)
    await chat.tap(button(gallery, "✅ Pick"), LOOK)
    over = await make_video(chat, "Our shop is open every day from nine to nine. Come in!")

    for message, name in ((head, "head"), (over, "over")):
        video = tmp_path / f"{name}.mp4"
        async with httpx.AsyncClient(timeout=30) as http:
            video.write_bytes((await http.get(message["media"]["url"])).content)
        streams = {s["codec_type"]: s for s in ffprobe(video)["streams"]}
        assert (streams["video"]["width"], streams["video"]["height"]) == (720, 1280)
        assert "audio" in streams


async def _check(cluster: Cluster, tmp_path: Path) -> None:
    conn = await asyncpg.connect(cluster.database.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch("SELECT id, format, status, captions, cost FROM generations ORDER BY id")
        steps = await conn.fetch("SELECT generation_id, step, status, request_id FROM generation_steps")
        balance = await conn.fetchval("SELECT balance FROM users WHERE id = $1", USER)
        ledger = await conn.fetchval("SELECT SUM(delta) FROM ledger_entries WHERE user_id = $1", USER)
    finally:
        await conn.close()
    assert [(r["format"], r["status"], r["captions"]) for r in rows] == [
        ("talking_head", "done", True),
        ("background", "done", True),
    ]
    assert balance == ledger == 100 - sum(r["cost"] for r in rows)
    done = {(s["generation_id"], s["step"]) for s in steps if s["status"] == "done"}
    head_id, over_id = rows[0]["id"], rows[1]["id"]
    assert {(head_id, s) for s in ("speech", "video", "captions", "store", "deliver")} <= done
    assert {(over_id, s) for s in ("speech", "backdrop", "video", "composite", "captions", "store")} <= done
    assert all(s["request_id"] for s in steps if s["step"] == "video"), "request ids were kept"

    stats = await asyncio.to_thread(fal_stats, cluster.fal_url)
    models = sorted(s["model"] for s in stats["submissions"])
    # Two renders and the background format's green backdrop (nano-banana), none of them twice.
    assert models == [*["fal-ai/bytedance/omnihuman/v1.5"] * 2, "fal-ai/nano-banana/edit"], stats
    assert stats["duplicates"] == 0, stats

    # The captions are burned in: the final video differs from the uncaptioned one in the caption band only.
    s3 = S3Storage(cluster.s3_endpoint, cluster.bucket, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY)
    async with s3:
        for generation_id, source in ((head_id, "work-talking.mp4"), (over_id, "work-composite.mp4")):
            prefix = f"users/{USER}/generations/{generation_id}"
            before = await s3.get_file(f"{prefix}/{source}", tmp_path / f"{generation_id}-before.mp4")
            after = await s3.get_file(f"{prefix}/video.mp4", tmp_path / f"{generation_id}-after.mp4")
            seconds = float(ffprobe(after)["format"]["duration"])
            band, top = caption_band_difference(before, after, seconds / 2, tmp_path)
            assert band > 3 * max(top, 0.5), (generation_id, band, top)
