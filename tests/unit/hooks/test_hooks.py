"""Each hook returns what its window shows and does what its button promises (over in-memory services)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.services.container import Services
from dialogs.hooks import balance, faq, language, menu, profile, start
from dialogs.registry import LOCALE_KEY
from tests.fakes.services import fake_services
from tests.unit.hooks.conftest import FakeManager, MakeContext, TgUser


async def test_start_registers_with_the_welcome_bonus_once_and_keeps_the_payload(
    make_ctx: MakeContext, services: Services
) -> None:
    assert await start.register_user(make_ctx(value="ref_7")) is None
    assert await start.register_user(make_ctx(value="ref_8")) is None

    summary = await menu.user_summary(make_ctx())
    assert summary == {"first_name": "Анна", "balance": 50}
    assert services.users.rows[1]["payload"] == "ref_7"  # type: ignore[attr-defined]
    assert len(await services.ledger.history(1)) == 1


async def test_start_with_no_bonus_configured_registers_without_credits(make_ctx: MakeContext) -> None:
    ctx = replace(make_ctx(), services=fake_services(welcome_bonus=0))

    await start.register_user(ctx)

    assert (await menu.user_summary(ctx))["balance"] == 0


async def test_menu_shows_a_user_the_middleware_has_not_stored_yet(make_ctx: MakeContext) -> None:
    data = await menu.user_summary(make_ctx(user=TgUser(id=5, first_name="Bob", language_code="en")))
    assert data == {"first_name": "Bob", "balance": 0}


@pytest.mark.parametrize(("locale", "first"), [("ru", "Что умеет бот?"), ("en", "What does the bot do?")])
async def test_faq_lists_questions_in_the_users_language(
    make_ctx: MakeContext, locale: str, first: str
) -> None:
    data = await faq.faq_questions(make_ctx(locale=locale))

    questions = data["questions"]
    assert questions[0] == {"id": "what", "question": first}
    assert len({q["id"] for q in questions}) == len(questions) > 1


async def test_faq_answers_the_picked_question(make_ctx: MakeContext) -> None:
    picked = FakeManager(dialog_data={faq.PICKED_QUESTION: "credits"})

    data = await faq.faq_answer(make_ctx(locale="en", manager=picked))

    assert data["question"] == "What are credits?"
    assert data["answer"].startswith("Credits are the bot's currency")


async def test_faq_answer_of_a_removed_question_is_empty_not_an_error(make_ctx: MakeContext) -> None:
    gone = FakeManager(dialog_data={faq.PICKED_QUESTION: "removed_q"})
    assert await faq.faq_answer(make_ctx(manager=gone)) == {"question": "", "answer": ""}


async def test_profile_shows_id_balance_videos_date_and_language(make_ctx: MakeContext) -> None:
    await start.register_user(make_ctx())

    ru = await profile.profile(make_ctx())
    en = await profile.profile(make_ctx(locale="en"))

    assert ru == {
        "user_id": 1,
        "balance": 50,
        "videos": 0,
        "member_since": "24.11.2026",
        "language_name": "Русский",
    }
    assert en["language_name"] == "English"


async def test_balance_lists_recent_movements_newest_first_with_reasons(
    make_ctx: MakeContext, services: Services
) -> None:
    await start.register_user(make_ctx())
    await services.ledger.debit(1, 30, "hold", "hold:gen-1")

    ru = await balance.balance(make_ctx())
    en = await balance.balance(make_ctx(locale="en"))

    assert ru["balance"] == 20 and ru["has_history"] is True
    assert ru["history"].splitlines() == [
        "-30 — резерв на видео (24.11.2026)",
        "+50 — приветственный бонус (24.11.2026)",
    ]
    assert en["history"].splitlines()[1] == "+50 — welcome bonus (24.11.2026)"


async def test_balance_without_movements_says_so(make_ctx: MakeContext) -> None:
    data = await balance.balance(make_ctx())
    assert data == {"balance": 0, "has_history": False, "history": ""}


async def test_balance_shows_at_most_twenty_movements(make_ctx: MakeContext, services: Services) -> None:
    await start.register_user(make_ctx())
    for i in range(balance.HISTORY_ROWS + 2):
        await services.ledger.credit(1, 1, "admin_grant", f"grant:{i}")

    data = await balance.balance(make_ctx())

    assert len(data["history"].splitlines()) == balance.HISTORY_ROWS


async def test_switching_language_saves_it_and_renders_the_next_window_in_it(
    make_ctx: MakeContext, services: Services
) -> None:
    manager = FakeManager(middleware_data={LOCALE_KEY: "ru"})
    await start.register_user(make_ctx())

    outcome = await language.set_language(make_ctx(manager=manager, args={"locale": "en"}))

    assert outcome is None
    assert manager.middleware_data[LOCALE_KEY] == "en"
    user = await services.users.get(1)
    assert user is not None and user.locale == "en"
    assert await language.language(make_ctx(locale="en")) == {"language_name": "English"}


@pytest.mark.parametrize("args", [{"locale": "de"}, {}, {"locale": 1}])
async def test_a_locale_the_flows_do_not_have_changes_nothing(
    make_ctx: MakeContext, services: Services, args: dict[str, object]
) -> None:
    manager = FakeManager(middleware_data={LOCALE_KEY: "ru"})
    await start.register_user(make_ctx())

    assert await language.set_language(make_ctx(manager=manager, args=args)) == language.UNSUPPORTED

    assert manager.middleware_data[LOCALE_KEY] == "ru"
    user = await services.users.get(1)
    assert user is not None and user.locale == "ru"
