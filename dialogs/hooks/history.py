"""My videos: a page of the user's videos; one video with its file and voice-over sent again by file_id."""

from __future__ import annotations

from typing import Any

from app.domain.generations import GenerationInfo, GenerationStatus
from dialogs.hooks.access import date_text, services
from dialogs.hooks.create import error_text, notify, scroll_page, user_id
from dialogs.hooks.create_order import GENERATION, own_generation, result_video
from dialogs.hooks.create_voice import script_start
from dialogs.registry import HookContext, HookRegistry

HISTORY_SCROLL = "hist"
PAGE_SIZE = 5
GONE = "gone"


def _names(ctx: HookContext, info: GenerationInfo) -> dict[str, str]:
    svc = services(ctx)
    character = svc.catalog.character(info.character_id)
    voice = svc.catalog.voice(info.voice_id)
    texts = svc.texts
    return {
        "date": date_text(info.created_at),
        "format_name": texts.get(ctx.locale, f"create.format_name.{info.format}"),
        # A character or voice removed from the catalog since still has its id to show.
        "character_name": svc.catalog.text(character.name, ctx.locale) if character else info.character_id,
        "voice_name": svc.catalog.text(voice.name, ctx.locale) if voice else info.voice_id,
        "status_name": texts.get(ctx.locale, f"history.status.{info.status.value}"),
        "script_start": script_start(info.script),
    }


async def history_page(ctx: HookContext) -> dict[str, Any]:
    svc = services(ctx)
    # The service clamps the page into range; the scroll then moves to the page really shown.
    wanted = await scroll_page(ctx, HISTORY_SCROLL, None)
    page = await svc.generations.history(user_id(ctx), page=wanted, page_size=PAGE_SIZE)
    if page.page != wanted:
        await scroll_page(ctx, HISTORY_SCROLL, page.pages)
    rows: list[str] = []
    items: list[dict[str, Any]] = []
    for number, info in enumerate(page.items, start=page.page * PAGE_SIZE + 1):
        names = _names(ctx, info)
        rows.append(
            f"{number}. {names['date']} · {names['format_name']} · {names['character_name']} · "
            f"{names['voice_name']} · {names['status_name']}\n   “{names['script_start']}”"
        )
        items.append(
            {"id": info.id, "label": f"{number}. {names['character_name']} · {names['status_name']}"}
        )
    return {
        "total": page.total,
        "pages": page.pages,
        "has_items": bool(items),
        "rows": "\n".join(rows),
        "items": items,
    }


async def open_generation(ctx: HookContext) -> str | None:
    """Open a video of this user; a forged or stale id (someone else's, deleted) is refused."""
    try:
        wanted = int(ctx.item_id or "")
    except ValueError:
        wanted = None
    info = await own_generation(ctx, wanted)
    if info is None or info.status == GenerationStatus.DELETED:
        notify(ctx, "history.item.gone")
        return GONE
    ctx.dialog_data[GENERATION] = info.id
    return None


async def history_item(ctx: HookContext) -> dict[str, Any]:
    """The video and the voice-over by their cached file_ids (no upload); the stored files the first time."""
    wanted = ctx.dialog_data.get(GENERATION)
    info = await own_generation(ctx, wanted if isinstance(wanted, int) else None)
    if info is None:
        return {
            "generation_id": "", "date": "", "format_name": "", "character_name": "", "voice_name": "",
            "status_name": "", "script_start": "", "failed": False, "pending": False, "reason": "", "cost": 0,
            "video": None, "audio": None, "has_video": False, "has_audio": False, "deletable": False,
        }  # fmt: skip
    video = await result_video(ctx, info, None, None) if info.status == GenerationStatus.DONE else None
    audio = info.audio_file_id or await _stored(ctx, info.audio_key or info.speech_ogg_key)
    failed = info.status == GenerationStatus.FAILED
    return {
        "generation_id": info.id,
        **_names(ctx, info),
        "failed": failed,
        "pending": info.active,
        "reason": error_text(ctx, info.error_reason),
        "cost": info.cost,
        "video": video if info.status == GenerationStatus.DONE else None,
        "audio": audio,
        "has_video": info.status == GenerationStatus.DONE and video is not None,
        "has_audio": audio is not None,
        "deletable": not info.active,
    }


async def _stored(ctx: HookContext, key: str | None) -> str | None:
    path = await services(ctx).files.path(key)
    return str(path) if path is not None else None


async def delete_generation(ctx: HookContext) -> str | None:
    wanted = ctx.dialog_data.get(GENERATION)
    if not isinstance(wanted, int) or not await services(ctx).generations.delete(user_id(ctx), wanted):
        notify(ctx, "history.item.gone")
        return GONE
    ctx.dialog_data.pop(GENERATION, None)
    return None


def register(registry: HookRegistry) -> None:
    registry.add_getter("history_page", history_page)
    registry.add_action("open_generation", open_generation, outcomes=("ok", GONE))
    registry.add_getter("history_item", history_item)
    registry.add_action("delete_generation", delete_generation, outcomes=("ok", GONE))
