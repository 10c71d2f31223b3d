"""Issue 6's "done when": the bot with the real adapters — ElevenLabs for speech, fal.ai nano-banana and
OmniHuman for looks and video, fal's webhooks for completion — pointed at local fakes that speak those APIs,
makes a video in both formats through the local Telegram, with captions timed by ElevenLabs' alignment, and
records what each paid call cost."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BotStarter, Process, fake_fal_process, fal_stats, spawn, wait_for_line
from tests.e2e.test_create_video import assert_playable, balance, download, duration, price
from tests.fakes.elevenlabs_server import DEFAULT_KEY as ELEVENLABS_KEY
from tests.fakes.fal_server import DEFAULT_KEY as FAL_KEY
from tests.integration.create.chat import Chat, labels, shown
from tests.integration.create.media import make_media
from tests.integration.create.steps import CONFIRM, GALLERY, LOOK, SCRIPT, TAKE, VOICES, button
from tests.support.localtg import ControlClient
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e
USER = 7301
READY = "is ready!"
HEAD_SCRIPT = "Hello! Meet our new face cream. It smells of summer."
OVER_SCRIPT = "Our shop is open every day from nine to nine. Come in!"


@contextmanager
def fake_elevenlabs_process(workdir: Path) -> Iterator[tuple[str, Process]]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.fakes.elevenlabs_server", "--port", str(port)]
    proc = spawn("fake ElevenLabs", argv, dict(os.environ), workdir / "elevenlabs.log")
    try:
        wait_for_line(proc, "listening on")
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.stop()


async def make_video(chat: Chat, tmp_path: Path, name: str, script: str) -> tuple[Path, float, int]:
    voices = await chat.tap("Keep this look →", VOICES)
    await chat.tap(button(voices, "✅ Pick"), SCRIPT)
    take = await chat.say(script, TAKE)
    speech = duration(download(take, tmp_path / f"{name}-take.ogg"))
    confirm = await chat.tap("✅ Sounds good →", CONFIRM)
    paid = price(confirm)
    # The fallback poll is minutes away: only fal's webhook can bring the video within this wait.
    result = await chat.tap(button(confirm, "💳 Pay"), READY, within=150)
    assert "(omnihuman)" in shown(result) and "local render" not in shown(result)
    assert labels(result)[0] == "🎬 New video"
    return download(result, tmp_path / f"{name}.mp4"), speech, paid


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql).fetchall())


async def test_the_real_adapters_make_both_formats_with_alignment_captions_and_record_costs(
    start_bot: BotStarter, tg: ControlClient, tmp_path: Path, bot_env: dict[str, str]
) -> None:
    with (
        fake_fal_process(tmp_path, latency="1-2", video="render") as (fal_url, _fal),
        fake_elevenlabs_process(tmp_path) as (elevenlabs_url, _elevenlabs),
    ):
        bot = start_bot(
            TTS_PROVIDER="elevenlabs",
            ELEVENLABS_API_KEY=ELEVENLABS_KEY,
            ELEVENLABS_URL=elevenlabs_url,
            VIDEO_PROVIDER="fal",
            FAL_KEY=FAL_KEY,
            FAL_QUEUE_URL=fal_url,
            FAL_REST_URL=fal_url,
            FAL_UPLOAD_URL=fal_url,
            FAL_JWKS_URL=f"{fal_url}/.well-known/jwks.json",
            PUBLIC_URL=f"http://127.0.0.1:{bot_env['WEB_PORT']}",
            FAL_WEBHOOK_FALLBACK_SECONDS="600",
            LOG_LEVEL="DEBUG",
        )
        async with httpx.AsyncClient(timeout=5) as http:
            providers = (await http.get(f"{bot.web_url}/health")).json()["providers"]
        assert providers["speech"].startswith("elevenlabs (eleven_multilingual_v2")
        assert providers["image"].startswith("fal-ai/nano-banana/edit")
        assert providers["video"].startswith("fal-ai/bytedance/omnihuman/v1.5 720p")
        assert "webhooks" in providers["video"]

        await tg.create_user(USER, "Eve", language_code="en")
        chat = Chat(tg, USER)
        await chat.say("/start", "UGC Bot")
        await chat.tap("🎬 Create video", "Choose the format")
        await chat.tap("🗣 Talking head", "Who will star")
        await chat.tap("👩 A woman", GALLERY)
        await chat.tap("✅ Pick Anna", LOOK)
        head, head_speech, head_price = await make_video(chat, tmp_path, "head", HEAD_SCRIPT)
        assert_playable(head, head_speech)

        await chat.tap("🎬 New video", "Choose the format")
        await chat.tap("🎞 Character over your video", "Send the background video")
        background = make_media(tmp_path).background
        await chat.upload(background, kind="video", file_name="shop.mp4", expect="Background received")
        await chat.tap("Continue →", "Who will star")
        gallery = await chat.tap("👨 A man", GALLERY)
        await chat.tap(button(gallery, "✅ Pick"), LOOK)
        over, over_speech, over_price = await make_video(chat, tmp_path, "over", OVER_SCRIPT)
        assert_playable(over, over_speech)
        assert await balance(chat) == 50 - head_price - over_price

        async with httpx.AsyncClient(timeout=5) as http:
            exposition = (await http.get(f"{bot.web_url}/metrics")).text
        seen_fal = await asyncio.to_thread(fal_stats, fal_url)
        async with httpx.AsyncClient(timeout=5) as http:
            seen_elevenlabs = (await http.get(f"{elevenlabs_url}/_fake/stats")).json()
        log = bot.log.read_text(errors="replace")

    models = sorted(entry["model"] for entry in seen_fal["distinct"])
    assert models == [
        "fal-ai/bytedance/omnihuman/v1.5",
        "fal-ai/bytedance/omnihuman/v1.5",
        "fal-ai/nano-banana/edit",
    ], "two renders and one green backdrop, none twice"
    assert seen_fal["duplicates"] == 0
    assert seen_fal["counters"].get("webhooks_delivered", 0) == 2, "each render reported by webhook"
    assert seen_elevenlabs["synthesis_calls"] == 2, seen_elevenlabs

    db = Path(bot_env["DATABASE_URL"].removeprefix("sqlite://"))
    # Captions are timed by the provider's alignment: the pipeline used the word timings stored with the take.
    storage = Path(bot_env["DATA_DIR"]) / "storage"
    takes = sorted(storage.glob("tmp/users/*/drafts/*/take*.words.json"))
    assert len(takes) == 2
    stored = [json.loads(path.read_text()) for path in takes]
    rows = query(db, "SELECT output FROM generation_steps WHERE step = 'speech' ORDER BY generation_id")
    used = [json.loads(row[0])["words"] for row in rows]
    assert sorted(map(str, used)) == sorted(map(str, stored))
    scripts = sorted([HEAD_SCRIPT.split(), OVER_SCRIPT.split()])
    assert sorted([w[0] for w in words] for words in used) == scripts

    costs = query(db, "SELECT provider, purpose, unit, usd_micros FROM provider_calls ORDER BY id")
    assert sorted((p, purpose, unit) for p, purpose, unit, _ in costs) == [
        ("elevenlabs", "take", "characters"),
        ("elevenlabs", "take", "characters"),
        ("fal", "backdrop", "images"),
        ("fal", "video", "seconds"),
        ("fal", "video", "seconds"),
    ]
    assert all(usd > 0 for *_, usd in costs)
    # /metrics after the videos: updates, provider latency, jobs by status, videos finished, credits moved.
    series = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines()
              if line and not line.startswith("#")}  # fmt: skip
    assert series['ugc_videos_finished_total{status="done"}'] == 2
    assert series['ugc_jobs{status="done"}'] == 2
    assert series['ugc_provider_seconds_count{operation="video_submit",provider="omnihuman"}'] == 2
    assert series['ugc_provider_seconds_count{operation="edit",provider="nano-banana"}'] == 1
    assert series['ugc_updates_total{type="callback_query"}'] > 10
    assert series['ugc_credits_moved_total{direction="out",reason="hold"}'] == head_price + over_price
    for secret in (ELEVENLABS_KEY, FAL_KEY):
        assert secret not in log, "a provider key reached the log"
