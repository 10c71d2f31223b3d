"""Crash safety: workers killed with SIGKILL at random moments while 20 paid videos render. Every video still
ends delivered or refunded, the (fake) fal.ai never saw the same render submitted twice — except where a kill
landed in the unavoidable moment between fal accepting a render and the worker recording its id (fal has no
idempotency key; docs/providers.md) — and every user's balance equals the sum of their ledger."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from arq.connections import ArqRedis

from app.db.setup import close_db, init_db
from app.domain.generations import Draft
from app.jobs.queue import ArqJobQueue
from app.services.clock import SystemClock
from app.services.generations import Generations
from app.services.ledger import Ledger
from app.services.pricing import load_pricing
from app.services.storage.keys import draft_key
from app.services.storage.local import LocalStorage
from tests.e2e.conftest import (
    ROOT,
    BotProcess,
    Process,
    SpawnedWorker,
    _wait_healthy,
    fake_fal_process,
    fal_stats,
    spawn,
    spawn_worker,
)
from tests.fakes.fal_server import DEFAULT_KEY
from tests.integration.create.chat import Chat
from tests.support.localtg import ControlClient, ServerProcess
from tests.support.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
USERS = range(7400, 7410)  # 10 users × 2 videos each
VIDEOS_PER_USER = 2
KILLS = 5
# fal accepts a render, then the worker writes its id: a kill in between cannot be told from a kill before the
# submit, so the restarted worker submits again. The moment is milliseconds long; a second is generous.
KILL_WINDOW = 1.0


async def speech(workdir: Path, frequency: int) -> tuple[Path, Path]:
    """A 3 s voice-over as the flow stores it: WAV for rendering, OGG/Opus for Telegram. Each video gets its
    own tone, so the fake fal.ai can tell a second submission of one video from the next video."""
    wav, ogg = workdir / f"take-{frequency}.wav", workdir / f"take-{frequency}.ogg"
    for target, codec in ((wav, ["-c:a", "pcm_s16le"]), (ogg, ["-c:a", "libopus"])):
        proc = await asyncio.create_subprocess_exec(
            "ffmpeg", "-nostdin", "-y", "-v", "error",
            "-f", "lavfi", "-i", f"sine=frequency={frequency}:duration=3",
            *codec, str(target),
        )  # fmt: skip
        assert await proc.wait() == 0
    return wav, ogg


@pytest.fixture
async def database(new_postgres_database: Callable[[], Awaitable[str]]) -> AsyncIterator[str]:
    url = await new_postgres_database()
    migrate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "migrate", cwd=ROOT, env=os.environ | {"DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await migrate.communicate()
    assert migrate.returncode == 0, output.decode()
    await init_db(url)
    try:
        yield url
    finally:
        await close_db()


async def test_killed_workers_lose_no_video_pay_no_render_twice_and_keep_the_ledger_whole(
    telegram: ServerProcess, tg: ControlClient, clean_redis_url: str, database: str, tmp_path: Path
) -> None:
    storage_dir = tmp_path / "storage"
    with fake_fal_process(tmp_path, latency="1-3", video="static") as (fal_url, fal):
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "REDIS_"))},
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_URL": telegram.url,
            "DATABASE_URL": database,
            "REDIS_URL": clean_redis_url,
            "STORAGE_DIR": str(storage_dir),
            "VIDEO_PROVIDER": "omnihuman",
            "FAL_KEY": DEFAULT_KEY,
            "FAL_QUEUE_URL": fal_url,
            "FAL_REST_URL": fal_url,
            "FAL_UPLOAD_URL": fal_url,
            "RUN_WORKER": "false",
            "PROVIDER_POLL_SECONDS": "0.3",
            "WORKER_POLL_SECONDS": "0.2",
            "STALE_AFTER": "6",
            "REAPER_INTERVAL": "2",
            # Two cores: a few renders at a time per worker keep a restarting worker from starving.
            "WORKER_CONCURRENCY": "4",
            "WELCOME_BONUS": "100",
            "LOG_FORMAT": "json",
        }
        processes: list[Process] = []
        try:
            port = free_port()
            bot_env = env | {"WEB_PORT": str(port), "DATA_DIR": str(tmp_path / "bot")}
            bot = spawn("bot", [sys.executable, "-m", "app", "run"], bot_env, tmp_path / "bot.log")
            processes.append(bot)
            probe = BotProcess(bot.process, f"http://127.0.0.1:{port}", bot.log)
            await asyncio.to_thread(_wait_healthy, probe)

            def respawn(name: str) -> SpawnedWorker:
                started = spawn_worker(
                    env | {"DATA_DIR": str(tmp_path / name)}, tmp_path / f"{name}.log", name
                )
                processes.append(started.process)
                return started

            # The workers start (aiogram takes seconds to import) while the videos are being paid for.
            spawned = {name: respawn(name) for name in ("worker1", "worker2")}
            ids = await _confirm_videos(tg, env, storage_dir, tmp_path)
            rng = random.Random(os.environ.get("CRASH_SEED", "5"))
            kills: list[float] = []
            for _ in range(KILLS):
                await asyncio.sleep(rng.uniform(1.0, 3.0))
                # Only a worker that is up and taking jobs is worth killing: wait for one.
                ready = await _ready_workers(spawned)
                name = rng.choice(ready)
                spawned[name].process.kill()  # SIGKILL: mid-upload, mid-poll, mid-delivery — wherever it is
                kills.append(time.time())
                # A supervisor restarts it at once; it picks jobs up again when it is ready.
                spawned[name] = respawn(name)

            await _wait_finished(database, ids, within=150)
            await _check(database, ids, fal_url, tg, kills)
        finally:
            stopped = [proc.stop_quietly() for proc in processes]
            for proc in processes:
                print(f"--- {proc.name} ---\n{proc.output()[-4000:]}")
            print(f"--- fake fal.ai ---\n{fal.output()[-2000:]}")
        assert None not in stopped, "every process still running at the end stopped on SIGTERM"


async def _ready_workers(spawned: dict[str, SpawnedWorker], within: float = 60) -> list[str]:
    """Names of the workers taking jobs; waits until there is one."""
    deadline = time.monotonic() + within
    while True:
        ready = [name for name, worker in sorted(spawned.items()) if worker.ready()]
        if ready or time.monotonic() > deadline:
            assert ready, "no worker came up"
            return ready
        await asyncio.sleep(0.2)


async def _confirm_videos(
    tg: ControlClient, env: dict[str, str], storage_dir: Path, tmp_path: Path
) -> list[int]:
    """Users who pressed /start, and two paid videos each, queued the way the Pay button queues them."""
    storage = LocalStorage(storage_dir)
    generations = Generations(
        Ledger(SystemClock()), load_pricing(ROOT / "catalog/pricing.yaml"), SystemClock()
    )
    queue = ArqJobQueue(ArqRedis.from_url(env["REDIS_URL"]))
    ids: list[int] = []
    for user_id in USERS:
        await tg.create_user(user_id, f"U{user_id}", language_code="en")
        await Chat(tg, user_id).say("/start", "UGC Bot")
        for _ in range(VIDEOS_PER_USER):
            wav, ogg = await speech(tmp_path, 200 + 10 * len(ids))
            draft = Draft.new(user_id, "en").with_format("talking_head").with_character("anna")
            draft = draft.with_voice("en_ellie").with_script("Fresh coffee and warm croissants, every day.")
            # Captions are another ffmpeg pass per video; their own tests cover them.
            draft = draft.with_captions(False)
            wav_key = draft_key(user_id, draft.draft_id, "take.wav")
            ogg_key = draft_key(user_id, draft.draft_id, "take.ogg")
            await storage.put_file(wav_key, wav, content_type="audio/wav")
            await storage.put_file(ogg_key, ogg, content_type="audio/ogg")
            draft = draft.with_speech(speech_key=wav_key, speech_ogg_key=ogg_key, speech_seconds=3.0)
            result = await generations.confirm(draft, key=f"confirm:{uuid.uuid4().hex}")
            await queue.enqueue(result.generation_id)
            ids.append(result.generation_id)
    return ids


async def _wait_finished(database: str, ids: list[int], *, within: float) -> None:
    deadline = time.monotonic() + within
    conn = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    try:
        while True:
            left = await conn.fetchval(
                "SELECT COUNT(*) FROM generations WHERE id = ANY($1) AND status IN ('queued', 'running')", ids
            )
            if left == 0:
                return
            assert time.monotonic() < deadline, f"{left} videos still unfinished after {within} s"
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def _check(database: str, ids: list[int], fal_url: str, tg: ControlClient, kills: list[float]) -> None:
    conn = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch("SELECT id, user_id, status, refunded, attempts FROM generations ORDER BY id")
        entries = await conn.fetch("SELECT user_id, delta, reason, ref FROM ledger_entries")
        balances = {r["id"]: r["balance"] for r in await conn.fetch("SELECT id, balance FROM users")}
    finally:
        await conn.close()
    assert sorted(r["id"] for r in rows) == sorted(ids)
    for row in rows:
        assert row["status"] == "done" or (row["status"] == "failed" and row["refunded"]), dict(row)
        reasons = sorted(e["reason"] for e in entries if e["ref"] == str(row["id"]))
        settled = "capture" if row["status"] == "done" else "release"
        assert reasons == sorted(["hold", settled]), (dict(row), reasons)
    for user_id, balance in balances.items():
        assert balance == sum(e["delta"] for e in entries if e["user_id"] == user_id), user_id
    done = [r for r in rows if r["status"] == "done"]
    assert len(done) >= len(rows) - 2, [dict(r) for r in rows if r["status"] != "done"]
    assert max(r["attempts"] for r in rows) > 1, "the kills interrupted some renders"

    stats = await asyncio.to_thread(fal_stats, fal_url)
    accepted = {s["request_id"]: s["submitted_at"] for s in stats["submissions"]}
    for group in stats["distinct"]:
        # Every render submitted again was first accepted just before a kill: the worker died before it
        # could write the request id down. Any other second submission is a bug.
        for request_id in group["request_ids"][:-1]:
            at = accepted[request_id]
            assert any(0 <= kill - at <= KILL_WINDOW for kill in kills), (group, kills)
    assert stats["duplicates"] <= len(kills), stats
    assert len(stats["distinct"]) == len(rows), "every video was submitted"

    for user_id in USERS:
        chat = await tg.messages(user_id)
        videos = [m for m in chat if m["from"] == "bot" and (m["media"] or {}).get("kind") == "video"]
        made = sum(1 for r in done if r["user_id"] == user_id)
        assert len(videos) >= made, (user_id, len(videos), made)
