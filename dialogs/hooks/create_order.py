"""Create a video: the price, paying (one generation and one hold per draft), progress and the result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram.enums import ContentType
from aiogram.types import FSInputFile
from aiogram_dialog.api.entities import MediaAttachment, MediaId

from app.domain.credits import InsufficientCredits
from app.domain.generations import (
    Draft,
    DraftIncomplete,
    GenerationInfo,
    GenerationStatus,
    SpeechTooLong,
    TooManyActive,
)
from app.domain.steps import PHASES, Step
from dialogs.hooks.access import current_user, services
from dialogs.hooks.create import GENDER, load_draft, notify, save_draft, text_or, user_id
from dialogs.hooks.create_captions import caption_fields
from dialogs.hooks.create_preview import preview_fields
from dialogs.registry import HookContext, HookRegistry

# In dialog_data of the progress and result windows (in start_data of a result opened on top of others).
GENERATION = "generation_id"
RENDER_PROVIDER = "render_provider"  # set by the job that delivers the result
RESULT_VIDEO = "result_video"  # the rendered file, for the first render (before Telegram has a file_id)
RESULT_THUMB = "result_thumb"  # its thumbnail (JPEG ≤ 320 px), sent with it
RESULT_LINK = "result_link"  # a download link instead of the file, when it is over Telegram's upload limit

NO_CREDITS = "no_credits"
TOO_MANY = "too_many"
MISSING = "missing"
GONE = "gone"


def confirm_key(draft: Draft) -> str:
    """One generation per draft: a second tap on Pay (or a retried update) finds the first one."""
    return f"confirm:{draft.draft_id}"


async def create_quote(ctx: HookContext) -> dict[str, Any]:
    """The price of the draft as it stands, part by part, and the balance it will be paid from."""
    svc = services(ctx)
    draft = load_draft(ctx)
    seconds = draft.speech_seconds or 0.0
    quote = svc.pricing.quote(draft.format or "talking_head", seconds)
    character = svc.catalog.character(draft.character_id or "")
    voice = svc.catalog.voice(draft.voice_id or "")
    take = await svc.files.path(draft.speech_ogg_key)
    balance = (await current_user(ctx)).balance
    return {
        "take": str(take) if take is not None else None,
        "take_seconds": round(seconds, 1),
        "voice_name": svc.catalog.text(voice.name, ctx.locale) if voice else "",
        "character_name": svc.catalog.text(character.name, ctx.locale) if character else "",
        "format_name": svc.texts.get(ctx.locale, f"create.format_name.{draft.format or 'talking_head'}"),
        "is_background": draft.format == "background",
        "speech_price": quote.speech,
        "video_price": quote.video,
        "units": quote.units,
        "background_price": quote.background,
        "total": quote.total,
        "balance": balance,
        "shortfall": max(quote.total - balance, 0),
    }


async def create_checkout(ctx: HookContext) -> dict[str, Any]:
    """The quote with what the last screens add: the captions choice and whether a free preview is offered."""
    return {**await create_quote(ctx), **caption_fields(ctx), **preview_fields(ctx)}


async def confirm_generation(ctx: HookContext) -> str | None:
    """Hold the price and queue the video; a repeated tap gets the same generation and holds nothing more."""
    svc = services(ctx)
    draft = load_draft(ctx)
    try:
        result = await svc.generations.confirm(draft, key=confirm_key(draft))
    except InsufficientCredits:
        return NO_CREDITS
    except TooManyActive as exc:
        notify(ctx, "create.confirm.too_many", limit=exc.limit)
        return TOO_MANY
    except (DraftIncomplete, SpeechTooLong):
        notify(ctx, "create.take.missing")
        return MISSING
    ctx.dialog_data[GENERATION] = result.generation_id
    await svc.jobs.enqueue(result.generation_id)
    return None


def generation_id(ctx: HookContext) -> int | None:
    for source in (ctx.dialog_data, ctx.start_data):
        value = source.get(GENERATION)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


async def own_generation(ctx: HookContext, wanted: int | None) -> GenerationInfo | None:
    """The generation if it exists and belongs to this user; ids in dialog data may be stale."""
    if wanted is None:
        return None
    info = await services(ctx).generations.get(wanted)
    if info is None or info.user_id != user_id(ctx):
        return None
    return info


def provider_label(ctx: HookContext, provider: str) -> str:
    texts = services(ctx).texts
    return texts.get(ctx.locale, "create.local_render") if provider == "local" else provider


async def create_progress(ctx: HookContext) -> dict[str, Any]:
    """Where the video is (queued / speech / video / finishing) and how long it has taken so far."""
    svc = services(ctx)
    info = await own_generation(ctx, generation_id(ctx))
    phase = "queued"
    elapsed = ""
    if info is not None:
        if info.status in (GenerationStatus.DONE, GenerationStatus.FAILED):
            phase = info.status.value
        elif info.step:
            phase = PHASES[Step(info.step)].value if info.step in Step.__members__.values() else info.step
        end = info.finished_at or svc.clock.now()
        elapsed = _duration(end, info.created_at)
    step_text = text_or(
        svc.texts, ctx.locale, f"create.progress.step.{phase}", "create.progress.step.running"
    )
    return {
        "done": info is not None and info.status == GenerationStatus.DONE,
        "generation_id": info.id if info is not None else "",
        "step_text": step_text,
        "elapsed": elapsed,
        "provider_label": provider_label(ctx, svc.video_maker.name),
    }


def _duration(end: datetime, start: datetime) -> str:
    seconds = max(0, int((end - start).total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


async def create_result(ctx: HookContext) -> dict[str, Any]:
    """The delivered video: by its cached file_id once Telegram gave one, else the file (uploaded once, with
    its size, length and thumbnail so it plays inline); a link when it is too large to upload."""
    svc = services(ctx)
    info = await own_generation(ctx, generation_id(ctx))
    provider = _delivered(ctx, RENDER_PROVIDER) or svc.video_maker.name
    link = _delivered(ctx, RESULT_LINK)
    video: MediaAttachment | None = None
    if info is not None and link is None:
        video = await result_video(ctx, info, _delivered(ctx, RESULT_VIDEO), _delivered(ctx, RESULT_THUMB))
    return {
        "generation_id": info.id if info is not None else "",
        "video": video,
        "link": link or "",
        "has_link": link is not None,
        "provider_label": provider_label(ctx, str(provider)),
    }


async def result_video(
    ctx: HookContext, info: GenerationInfo, path: str | None, thumb: str | None
) -> MediaAttachment | None:
    """The generation's video for sendVideo: its file_id when known, else its file with the details."""
    if info.video_file_id:
        return MediaAttachment(ContentType.VIDEO, file_id=MediaId(info.video_file_id))
    files = services(ctx).files
    local = path or (str(p) if (p := await files.path(info.video_key)) is not None else None)
    if local is None:
        return None
    thumb = thumb or (str(t) if (t := await files.path(info.thumb_key)) is not None else None)
    details: dict[str, Any] = {"supports_streaming": True}
    if info.video_width and info.video_height:
        details |= {"width": info.video_width, "height": info.video_height}
    if info.video_seconds:
        details["duration"] = max(1, round(info.video_seconds))
    if thumb is not None:
        details["thumbnail"] = FSInputFile(thumb)
    return MediaAttachment(ContentType.VIDEO, path=local, **details)


def _delivered(ctx: HookContext, key: str) -> str | None:
    """What the delivering job put into this window's data (dialog_data, or start_data when it opened it)."""
    value = ctx.dialog_data.get(key) or ctx.start_data.get(key)
    return str(value) if value else None


def _start_over(ctx: HookContext, draft: Draft) -> None:
    """Forget everything of the previous video but what ``draft`` keeps."""
    ctx.dialog_data.clear()
    save_draft(ctx, draft)


async def new_video(ctx: HookContext) -> str | None:
    _start_over(ctx, Draft.new(user_id(ctx), ctx.locale))
    return None


async def same_setup(ctx: HookContext) -> str | None:
    """The delivered video's format, background, character, look and voice, for a new script."""
    info = await own_generation(ctx, generation_id(ctx))
    if info is None:
        _start_over(ctx, Draft.new(user_id(ctx), ctx.locale))
        return GONE
    draft = Draft(
        user_id=info.user_id,
        draft_id=Draft.new(info.user_id, ctx.locale).draft_id,
        format=info.format,
        background_key=info.background_key,
        character_id=info.character_id,
        edited_image_key=info.edited_image_key,
        voice_id=info.voice_id,
        locale=ctx.locale,
    )
    character = services(ctx).catalog.character(info.character_id)
    _start_over(ctx, draft)
    if character is not None:
        ctx.dialog_data[GENDER] = character.gender
    return None


def register(registry: HookRegistry) -> None:
    registry.add_getter("create_quote", create_quote)
    registry.add_getter("create_checkout", create_checkout)
    registry.add_action(
        "confirm_generation", confirm_generation, outcomes=("ok", NO_CREDITS, TOO_MANY, MISSING)
    )
    registry.add_getter("create_progress", create_progress)
    registry.add_getter("create_result", create_result)
    registry.add_action("new_video", new_video)
    registry.add_action("same_setup", same_setup, outcomes=("ok", GONE))
