"""What an operator reads on /metrics after the bot handled updates and called providers (no I/O)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import CallbackQuery, Message, Update
from prometheus_client.parser import text_string_to_metric_families

from app.db.activity import Seen
from app.metrics import Metrics, UpdateMetricsMiddleware, queue_check, storage_check
from app.services.providers import ProviderError
from app.telegram.activity import ActivityMiddleware, ActivityRecorder
from tests.fakes.services import FixedClock

CHAT = {"id": 501, "type": "private"}
USER = {"id": 501, "is_bot": False, "first_name": "Anna"}


class Ticks:
    """A timer that moves by ``step`` seconds at every reading: each timed block lasts exactly ``step``."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition text, parsed back as Prometheus would."""
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    parsed: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            parsed[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return parsed


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset(labels.items())))


def message_update(update_id: int, text: str = "hi") -> Update:
    message = {"message_id": update_id, "date": 1_790_000_000, "chat": CHAT, "from": USER, "text": text}
    return Update.model_validate({"update_id": update_id, "message": message})


def callback_update(update_id: int) -> Update:
    callback = {"id": str(update_id), "from": USER, "chat_instance": "ci", "data": "menu"}
    return Update.model_validate({"update_id": update_id, "callback_query": callback})


@pytest.fixture
def bot() -> Iterator[Bot]:
    yield Bot("42:TEST")


async def test_updates_are_counted_and_timed_by_type_even_when_a_handler_fails(bot: Bot) -> None:
    metrics = Metrics()
    dp = Dispatcher()
    dp.update.outer_middleware(UpdateMetricsMiddleware(metrics, timer=Ticks(0.25)))

    @dp.message()
    async def on_message(message: Message) -> None:
        if message.text == "boom":
            raise RuntimeError("handler bug")

    @dp.callback_query()
    async def on_click(query: CallbackQuery) -> None:
        return None

    await dp.feed_update(bot, message_update(1))
    await dp.feed_update(bot, message_update(2))
    await dp.feed_update(bot, callback_update(3))
    with pytest.raises(RuntimeError):
        await dp.feed_update(bot, message_update(4, "boom"))

    assert value(metrics, "ugc_updates_total", type="message") == 3
    assert value(metrics, "ugc_updates_total", type="callback_query") == 1
    assert value(metrics, "ugc_handler_seconds_count", type="message") == 3
    assert value(metrics, "ugc_handler_seconds_sum", type="message") == pytest.approx(0.75)
    assert value(metrics, "ugc_handler_seconds_bucket", type="callback_query", le="0.25") == 1
    assert value(metrics, "ugc_handler_seconds_bucket", type="callback_query", le="0.1") == 0


async def test_provider_calls_are_timed_and_failures_counted_by_reason() -> None:
    metrics = Metrics(timer=Ticks(2.0))
    async with metrics.time_provider("fal", "video_submit"):
        pass
    with pytest.raises(ProviderError) as raised:
        async with metrics.time_provider("elevenlabs", "speech"):
            raise ProviderError("provider_quota", "quota_exceeded")
    assert raised.value.reason == "provider_quota"
    with pytest.raises(KeyError):
        async with metrics.time_provider("fal", "image_edit"):
            raise KeyError("a bug, not the provider")
    metrics.observe_provider("fal", "video_collect", 0.3)
    metrics.provider_error("fal", "provider_busy")

    assert value(metrics, "ugc_provider_seconds_count", provider="fal", operation="video_submit") == 1
    assert value(metrics, "ugc_provider_seconds_sum", provider="fal", operation="video_submit") == 2.0
    assert value(metrics, "ugc_provider_seconds_count", provider="elevenlabs", operation="speech") == 1
    assert value(metrics, "ugc_provider_seconds_count", provider="fal", operation="video_collect") == 1
    assert value(metrics, "ugc_provider_errors_total", provider="elevenlabs", reason="provider_quota") == 1
    assert value(metrics, "ugc_provider_errors_total", provider="fal", reason="provider_busy") == 1
    # A bug in our code is not a provider's latency nor its failure.
    assert value(metrics, "ugc_provider_seconds_count", provider="fal", operation="image_edit") is None


def test_credits_are_counted_by_reason_and_direction() -> None:
    metrics = Metrics()
    metrics.credits_moved("welcome_bonus", 10)
    metrics.credits_moved("hold", -8)
    metrics.credits_moved("hold", -5)
    metrics.credits_moved("release", 5)
    metrics.credits_moved("capture", 0)

    assert value(metrics, "ugc_credits_moved_total", reason="welcome_bonus", direction="in") == 10
    assert value(metrics, "ugc_credits_moved_total", reason="hold", direction="out") == 13
    assert value(metrics, "ugc_credits_moved_total", reason="release", direction="in") == 5
    assert value(metrics, "ugc_credits_moved_total", reason="capture", direction="out") is None


def test_finished_videos_are_counted_by_status() -> None:
    metrics = Metrics()
    metrics.video_finished("done")
    metrics.video_finished("done")
    metrics.video_finished("failed")
    assert value(metrics, "ugc_videos_finished_total", status="done") == 2
    assert value(metrics, "ugc_videos_finished_total", status="failed") == 1


def test_two_metrics_objects_do_not_share_counts() -> None:
    first, second = Metrics(), Metrics()
    first.video_finished("done")
    assert value(first, "ugc_videos_finished_total", status="done") == 1
    assert value(second, "ugc_videos_finished_total", status="done") is None


async def test_activity_middleware_counts_updates_from_users_only(bot: Bot) -> None:
    clock = FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    recorder = ActivityRecorder(clock)
    dp = Dispatcher()
    dp.update.outer_middleware(ActivityMiddleware(recorder))

    @dp.message()
    async def on_message(message: Message) -> None:
        return None

    await dp.feed_update(bot, message_update(1))
    clock.advance(seconds=30)
    await dp.feed_update(bot, callback_update(2))
    # A channel post has no user behind it.
    post = {"message_id": 3, "date": 1_790_000_000, "chat": {"id": -100, "type": "channel"}, "text": "news"}
    await dp.feed_update(bot, Update.model_validate({"update_id": 3, "channel_post": post}))

    assert dict(recorder.pending) == {501: Seen(2, datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC))}


def test_seen_keeps_the_latest_time_when_the_clock_steps_back() -> None:
    clock = FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    recorder = ActivityRecorder(clock)
    recorder.seen(7)
    clock.advance(seconds=-5)
    recorder.seen(7)
    assert recorder.pending[7].count == 2
    assert recorder.pending[7].last == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Storage:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.asked: list[str] = []

    async def exists(self, key: str) -> bool:
        self.asked.append(key)
        if self.error is not None:
            raise self.error
        return False


class Queue:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    async def zcard(self, name: str) -> int:
        if self.error is not None:
            raise self.error
        return 12_000


async def test_storage_is_up_when_it_answers_even_that_the_probe_is_missing() -> None:
    storage = Storage()
    assert await storage_check(storage)() is True  # type: ignore[arg-type]
    assert storage.asked == ["health/probe"]
    broken = storage_check(Storage(ProviderError("storage_failed", "403")))  # type: ignore[arg-type]
    with pytest.raises(ProviderError):
        await broken()


async def test_a_long_queue_is_still_up() -> None:
    queue: Any = Queue()
    assert await queue_check(queue, "ugc:jobs")() is True
    with pytest.raises(ConnectionError):
        await queue_check(Queue(ConnectionError("refused")), "ugc:jobs")()  # type: ignore[arg-type]
