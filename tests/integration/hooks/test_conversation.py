"""The first screens end to end: the real flows.yaml, hooks, services and SQLite, driven through
aiogram-dialog's BotClient on real Redis — what a new user sees after /start and in the first screens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.db.migrations import apply_migrations
from app.db.models import LedgerEntry, User
from app.db.setup import close_db, init_db
from app.services.catalog import Catalog
from app.services.container import Services, build_services
from app.services.faq import FaqCatalog
from app.services.image.local import LocalImageEditor
from app.services.pricing import load_pricing
from app.services.speech.local import LocalSpeech
from app.services.storage.local import LocalStorage
from app.services.video.local import LocalVideoMaker
from app.telegram.middlewares import UserContextMiddleware
from dialogs.hooks import build_registry
from dialogs.i18n import TextCatalog
from dialogs.loader import load_flows
from tests.fakes.renders import MemoryThrottle, RecordingQueue
from tests.fakes.services import FixedClock
from tests.integration.engine.harness import Bot

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = f"sqlite://{tmp_path}/bot.sqlite3"
    await apply_migrations(url)
    await init_db(url)
    flows = load_flows(ROOT / "flows.yaml").flows
    texts = TextCatalog.load(ROOT / flows.texts, flows.locales, flows.default_locale)
    faq = FaqCatalog.load(ROOT / "catalog/faq.yaml", flows.locales, flows.default_locale)
    yield build_services(
        texts=texts,
        faq=faq,
        locales=flows.locales,
        welcome_bonus=50,
        catalog=Catalog.load(ROOT / "catalog", flows.locales, flows.default_locale),
        pricing=load_pricing(ROOT / "catalog" / "pricing.yaml"),
        storage=LocalStorage(tmp_path / "storage"),
        speech=LocalSpeech(),
        image_editor=LocalImageEditor(),
        video_maker=LocalVideoMaker(spool=tmp_path / "spool"),
        jobs=RecordingQueue(),
        scratch_dir=tmp_path / "work",
        throttle=MemoryThrottle(),  # type: ignore[arg-type]  # duck-typed stand-in
        clock=FixedClock(),
    )
    await close_db()


@pytest.fixture
async def bot(services: Services, redis_url: str, redis: object) -> AsyncIterator[Bot]:
    flows = load_flows(ROOT / "flows.yaml").flows
    hooks = SimpleNamespace(registry=build_registry())
    bot = Bot(flows, hooks, services.texts, redis_url, base_dir=ROOT, user_id=77, services=services)  # type: ignore[arg-type]
    # As the runtime does: the user row, locale and services for every message and click.
    user_context = UserContextMiddleware(services)
    bot.dp.message.outer_middleware(user_context)
    bot.dp.callback_query.outer_middleware(user_context)
    yield bot
    await bot.close()


async def test_a_new_user_gets_the_bonus_once_and_sees_it_everywhere(bot: Bot) -> None:
    await bot.send("/start promo_1")

    assert "User_77, это UGC Bot" in bot.text
    assert "Баланс: 50 кр." in bot.text
    await bot.send("/start")
    assert "Баланс: 50 кр." in bot.text
    assert await LedgerEntry.filter(user_id=77).count() == 1
    assert (await User.get(id=77)).start_payload == "promo_1"

    await bot.click("💰 Баланс")
    assert "💰 Баланс: 50 кр." in bot.text
    assert "+50 — приветственный бонус (24.11.2026)" in bot.text

    await bot.click("← Назад")
    await bot.click("👤 Профиль")
    assert "ID: 77" in bot.text and "С нами с: 24.11.2026" in bot.text and "Язык: Русский" in bot.text


async def test_switching_to_english_renders_english_from_the_next_window_on(bot: Bot) -> None:
    await bot.send("/start")
    await bot.click("🌐 Язык")
    assert "Сейчас: Русский" in bot.text

    await bot.click("🇬🇧 English")

    assert "Balance: 50 cr." in bot.text
    assert (await User.get(id=77)).locale == "en"
    await bot.click("👤 Profile")
    assert "Language: English" in bot.text


async def test_the_faq_lists_questions_and_opens_an_answer(bot: Bot) -> None:
    await bot.send("/start")
    await bot.click("❓ FAQ")
    assert "Частые вопросы" in bot.text
    assert "Что такое кредиты?" in bot.flat_buttons

    await bot.click("Что такое кредиты?")

    assert "❓ Что такое кредиты?" in bot.text
    assert "Кредиты — внутренняя валюта" in bot.text
