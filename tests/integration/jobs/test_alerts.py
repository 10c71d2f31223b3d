"""Operator alerts: a provider problem only an admin can fix reaches the admin chats once per interval,
across processes (the throttle is in Redis), and a chat that cannot be reached does not stop the others."""

from __future__ import annotations

from redis.asyncio import Redis

from app.services.throttle import RedisThrottle
from app.telegram.alerts import TelegramAlerts
from tests.integration.jobs.fakes import RecordingBot


async def test_an_alert_reaches_every_admin_once_per_interval_per_topic(redis: Redis) -> None:
    bot = RecordingBot(refuse={2})
    first = TelegramAlerts(bot, (1, 2, 3), RedisThrottle(redis))  # type: ignore[arg-type]
    other_process = TelegramAlerts(bot, (1, 2, 3), RedisThrottle(redis))  # type: ignore[arg-type]

    await first.alert("elevenlabs:quota", "ElevenLabs quota exhausted")
    await other_process.alert("elevenlabs:quota", "ElevenLabs quota exhausted")  # a second user's take
    await first.alert("elevenlabs:auth", "ElevenLabs rejected the API key")

    assert bot.to(1) == ["⚠️ ElevenLabs quota exhausted", "⚠️ ElevenLabs rejected the API key"]
    assert bot.to(3) == bot.to(1), "the blocked admin 2 did not stop admin 3 from hearing"
    assert bot.to(2) == []


async def test_without_admin_chats_alerts_only_go_to_the_log(redis: Redis) -> None:
    bot = RecordingBot()
    await TelegramAlerts(bot, (), RedisThrottle(redis)).alert("fal:auth", "fal rejected the key")  # type: ignore[arg-type]
    assert bot.sent == []
