"""The price screen's captions buttons (on/off, style) and the free preview button: what the user sees on the
buttons and in the notice line, and what reaches the draft, the queue and the hourly limit."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from app.domain.generations import Draft
from app.services.container import Services
from dialogs.hooks import create, create_captions, create_order, create_preview, start
from dialogs.hooks.create import DRAFT
from dialogs.i18n import TextCatalog
from dialogs.registry import HookContext
from tests.fakes.renders import MemoryThrottle, RecordingQueue
from tests.fakes.services import FixedClock, repo_texts
from tests.unit.hooks.conftest import FakeManager, MakeContext

ROOT_STYLES = ("bold", "clean", "karaoke")  # catalog/captions.yaml, the default first


def ready_draft(script: str = "Привет! Это наш новый крем.") -> Draft:
    draft = Draft.new(1, "en").with_format("talking_head").with_character("anna").with_voice("ru_alisa")
    draft = draft.with_script(script)
    return draft.with_speech(speech_key="tmp/1/d/take1.wav", speech_ogg_key=None, speech_seconds=2.5)


def on_draft(draft: Draft) -> FakeManager:
    return FakeManager(dialog_data={DRAFT: draft.to_data()})


def the_draft(ctx: HookContext) -> Draft:
    return Draft.from_data(ctx.dialog_data[DRAFT])


async def checkout(ctx: HookContext) -> dict[str, Any]:
    return await create_order.create_checkout(ctx)


async def notice(ctx: HookContext) -> str:
    return str((await create.notice(ctx))[create.NOTICE])


def labels(texts: TextCatalog, data: dict[str, Any]) -> list[str]:
    """The captions buttons of the confirm window as the user reads them, in English."""
    shown = [texts.render("en", "create.captions.toggle", data)]
    if data["can_style"]:
        shown.append(texts.render("en", "create.captions.choose_style", data))
    return shown


# --- captions -------------------------------------------------------------------------------------------


def test_the_services_offer_the_catalog_styles_default_first(services: Services) -> None:
    assert services.caption_styles == ROOT_STYLES


async def test_captions_start_on_in_the_default_style(make_ctx: MakeContext) -> None:
    ctx = make_ctx(locale="en", manager=on_draft(ready_draft()))

    data = await checkout(ctx)

    assert labels(repo_texts(), data) == ["💬 Captions: on", "🎨 Style: Bold"]
    assert "Captions: Bold" in repo_texts().render("en", "create.confirm.text", data)
    assert data["total"] == 8, "the captions fields come on top of the price"


async def test_toggling_turns_captions_off_hides_the_style_and_the_order_has_none(
    make_ctx: MakeContext, services: Services
) -> None:
    await start.register_user(make_ctx())  # 50 cr. of welcome bonus
    ctx = make_ctx(locale="en", manager=on_draft(ready_draft()))

    assert await create_captions.toggle_captions(ctx) is None
    data = await checkout(ctx)

    assert labels(repo_texts(), data) == ["💬 Captions: off"]
    assert "Captions: off" in repo_texts().render("en", "create.confirm.text", data)
    assert await create_order.confirm_generation(ctx) is None
    paid = await services.generations.get(ctx.dialog_data[create_order.GENERATION])
    assert paid is not None and paid.captions is False


async def test_the_style_button_cycles_through_every_style_and_back(make_ctx: MakeContext) -> None:
    ctx = make_ctx(locale="en", manager=on_draft(ready_draft()))
    seen = []
    for _ in range(len(ROOT_STYLES) + 1):
        await create_captions.next_caption_style(ctx)
        seen.append((the_draft(ctx).caption_style, labels(repo_texts(), await checkout(ctx))[1]))

    assert seen == [
        ("clean", "🎨 Style: Clean"),
        ("karaoke", "🎨 Style: Karaoke"),
        ("bold", "🎨 Style: Bold"),
        ("clean", "🎨 Style: Clean"),
    ]


async def test_captions_switched_off_and_on_again_keep_the_picked_style(make_ctx: MakeContext) -> None:
    ctx = make_ctx(locale="ru", manager=on_draft(ready_draft()))
    await create_captions.next_caption_style(ctx)  # clean

    await create_captions.toggle_captions(ctx)
    off = the_draft(ctx)
    await create_captions.toggle_captions(ctx)

    assert (off.captions, off.caption_style) == (False, None)
    assert (the_draft(ctx).captions, the_draft(ctx).caption_style) == (True, "clean")
    data = await checkout(ctx)
    assert (data["captions_state"], data["caption_style_name"]) == ("вкл", "Аккуратные")


async def test_a_stale_style_tap_with_captions_off_changes_nothing(make_ctx: MakeContext) -> None:
    ctx = make_ctx(manager=on_draft(ready_draft().with_captions(False)))

    await create_captions.next_caption_style(ctx)

    assert the_draft(ctx).captions is False and the_draft(ctx).caption_style is None


async def test_a_style_removed_from_the_catalog_shows_and_cycles_from_the_default(
    make_ctx: MakeContext,
) -> None:
    ctx = make_ctx(locale="en", manager=on_draft(ready_draft().with_captions(True, "neon")))

    assert (await checkout(ctx))["caption_style_name"] == "Bold"
    await create_captions.next_caption_style(ctx)
    assert the_draft(ctx).caption_style == "clean"


async def test_a_style_without_a_text_is_shown_by_its_name_and_one_style_has_no_button(
    make_ctx: MakeContext, services: Services
) -> None:
    one_style = replace(services, caption_styles=("neon",))
    ctx = replace(make_ctx(locale="en", manager=on_draft(ready_draft())), services=one_style)

    data = await checkout(ctx)

    assert data["caption_style_name"] == "neon"
    assert data["can_style"] is False


# --- free preview ---------------------------------------------------------------------------------------


def queue(services: Services) -> RecordingQueue:
    jobs = services.jobs
    assert isinstance(jobs, RecordingQueue)
    return jobs


def throttle(services: Services) -> MemoryThrottle:
    limiter = services.throttle
    assert isinstance(limiter, MemoryThrottle)
    return limiter


async def test_a_preview_of_a_complete_draft_is_queued_with_the_draft_and_explained(
    make_ctx: MakeContext, services: Services
) -> None:
    draft = ready_draft()
    ctx = make_ctx(locale="en", manager=on_draft(draft))

    assert await create_preview.request_preview(ctx) is None

    assert queue(services).previews == [(1, draft.draft_id, 1)]
    assert await notice(ctx) == (
        "Rendering your free preview — it arrives in a few seconds. "
        "It is a quick local render: no lip movement, lower quality."
    )
    assert (await checkout(ctx))["can_preview"] is True


@pytest.mark.parametrize(
    "draft",
    [
        Draft.new(1, "en"),
        ready_draft().with_script("A new text, not spoken yet"),  # a new script drops the take
    ],
    ids=["empty", "no-voice-over"],
)
async def test_an_incomplete_draft_gets_no_preview_and_a_reason(
    make_ctx: MakeContext, services: Services, draft: Draft
) -> None:
    ctx = make_ctx(locale="en", manager=on_draft(draft))

    assert await create_preview.request_preview(ctx) == create_preview.INCOMPLETE

    assert queue(services).previews == []
    assert "The preview needs a complete setup" in await notice(ctx)
    allowed, _ = await services.throttle.take(create_preview.throttle_key(1), limit=1, window=3600)
    assert allowed, "the refusal used up none of the hour's previews"


async def test_over_the_hourly_limit_the_user_learns_in_how_many_minutes_to_try_again(
    make_ctx: MakeContext, services: Services
) -> None:
    svc = replace(services, previews_per_hour=2)
    ctx = replace(make_ctx(locale="en", manager=on_draft(ready_draft())), services=svc)
    clock = services.clock
    assert isinstance(clock, FixedClock)

    assert await create_preview.request_preview(ctx) is None
    await create_captions.toggle_captions(ctx)  # another draft to preview
    clock.advance(minutes=1)
    throttle(services).now += 60
    assert await create_preview.request_preview(ctx) is None
    await create_captions.toggle_captions(ctx)
    throttle(services).now += 25 * 60  # 26 minutes into the hour: 34 left
    clock.advance(minutes=25)
    await notice(ctx)

    assert await create_preview.request_preview(ctx) == create_preview.LIMITED

    assert len(queue(services).previews) == 2
    assert await notice(ctx) == "You have used your 2 free previews for this hour. Try again in 34 min."
    throttle(services).now += 34 * 60
    assert await create_preview.request_preview(ctx) is None, "a new hour, new previews"
    assert len(queue(services).previews) == 3


async def test_the_limit_message_in_russian(make_ctx: MakeContext, services: Services) -> None:
    svc = replace(services, previews_per_hour=1)
    ctx = replace(make_ctx(locale="ru", manager=on_draft(ready_draft())), services=svc)
    await create_preview.request_preview(ctx)
    await create_captions.toggle_captions(ctx)
    await notice(ctx)

    await create_preview.request_preview(ctx)

    assert await notice(ctx) == (
        "Бесплатные превью на этот час закончились (1 в час). Попробуйте снова через 60 мин."
    )


async def test_a_double_tap_is_one_preview_and_uses_up_one_of_the_hour(
    make_ctx: MakeContext, services: Services
) -> None:
    svc = replace(services, previews_per_hour=2)
    draft = ready_draft()
    ctx = replace(make_ctx(locale="en", manager=on_draft(draft)), services=svc)

    assert await create_preview.request_preview(ctx) is None
    await notice(ctx)
    assert await create_preview.request_preview(ctx) == create_preview.QUEUED

    assert queue(services).previews == [(1, draft.draft_id, 1)]
    assert await notice(ctx) == (
        "The preview of this video is already being rendered — it arrives in a few seconds."
    )
    await create_captions.toggle_captions(ctx)
    assert await create_preview.request_preview(ctx) is None, "the double tap did not count"
    assert queue(services).previews == [(1, draft.draft_id, 1), (1, draft.draft_id, 2)]


async def test_the_same_draft_asked_again_later_is_the_same_job_while_it_is_queued(
    make_ctx: MakeContext, services: Services
) -> None:
    draft = ready_draft()
    ctx = make_ctx(locale="en", manager=on_draft(draft))
    clock = services.clock
    assert isinstance(clock, FixedClock)
    await create_preview.request_preview(ctx)
    await notice(ctx)
    clock.advance(minutes=2)

    assert await create_preview.request_preview(ctx) == create_preview.QUEUED

    assert queue(services).previews == [(1, draft.draft_id, 1)], "job preview:1:<draft>:1 once"
    assert "already being rendered" in await notice(ctx)


async def test_a_changed_draft_is_a_new_preview(make_ctx: MakeContext, services: Services) -> None:
    draft = ready_draft()
    ctx = make_ctx(locale="en", manager=on_draft(draft))
    await create_preview.request_preview(ctx)

    await create_captions.next_caption_style(ctx)
    assert await create_preview.request_preview(ctx) is None

    assert [n for _, _, n in queue(services).previews] == [1, 2]


async def test_previews_switched_off_hide_the_button_and_refuse_a_stale_tap(
    make_ctx: MakeContext, services: Services
) -> None:
    ctx = replace(
        make_ctx(locale="en", manager=on_draft(ready_draft())),
        services=replace(services, previews_per_hour=0),
    )

    assert (await checkout(ctx))["can_preview"] is False
    assert await create_preview.request_preview(ctx) == create_preview.OFF
    assert queue(services).previews == []
    assert await notice(ctx) == "Free previews are switched off right now."


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_new_text_exists_in_both_languages(locale: str) -> None:
    texts = repo_texts()
    keys = [
        "create.captions.toggle",
        "create.captions.on",
        "create.captions.off",
        "create.captions.choose_style",
        *(create_captions.STYLE_TEXT + name for name in ROOT_STYLES),
        "create.preview.button",
        "create.preview.rendering",
        "create.preview.on_its_way",
        "create.preview.incomplete",
        "create.preview.limit",
        "create.preview.off",
        "create.preview.caption",
        "create.preview.failed",
    ]
    assert [key for key in keys if not texts.has(locale, key)] == []
