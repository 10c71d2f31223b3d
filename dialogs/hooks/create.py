"""Create a video, first steps: the draft in dialog_data, notices, format, background upload, gender, gallery.

Every choice is a :class:`~app.domain.generations.Draft` kept in dialog_data (Redis): a restart loses nothing.
An action that cannot do what the user asked returns an outcome other than ``ok`` and leaves a *notice*: the
next render shows it once in the window's ``{notice}`` line, so the explanation sits right above the buttons.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ContentType
from aiogram_dialog.api.entities import MediaAttachment, MediaId

from app.domain.generations import Draft, DraftDataError
from app.domain.pricing import VIDEO_FORMATS
from app.services.catalog import GENDERS, Character
from app.services.media_probe import MediaProblem, check_background_video
from app.services.providers import Gender
from app.services.storage.keys import draft_key
from dialogs.hooks.access import services
from dialogs.i18n import TextCatalog
from dialogs.inputs import ReceivedMedia
from dialogs.registry import HookContext, HookRegistry

DRAFT = "draft"
NOTICE = "notice"
GENDER = "gender"
BACKGROUND = "background"  # {"file_id", "kind", "seconds"} of the video the user sent, to show it back
CHARACTER_SCROLL = "chars"
VOICE_SCROLL = "voices"

# Outcomes an action may return besides "ok"; flows.yaml maps the ones that move the user.
REJECTED = "rejected"
UNAVAILABLE = "unavailable"

_CONTAINER_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}


# --- the draft and notices ------------------------------------------------------------------------------


def user_id(ctx: HookContext) -> int:
    if ctx.user is None:
        raise LookupError("the create flow needs the Telegram user of the update")
    return ctx.user.id


def load_draft(ctx: HookContext) -> Draft:
    """The draft in dialog_data; a fresh one when there is none (or it was written by an older version)."""
    data = ctx.dialog_data.get(DRAFT)
    if isinstance(data, Mapping):
        try:
            draft = Draft.from_data(data)
        except DraftDataError:
            pass
        else:
            if draft.user_id == user_id(ctx):
                return draft
    return save_draft(ctx, Draft.new(user_id(ctx), ctx.locale))


def save_draft(ctx: HookContext, draft: Draft) -> Draft:
    ctx.dialog_data[DRAFT] = draft.to_data()
    return draft


def notify(ctx: HookContext, key: str, **values: Any) -> None:
    """Show the text ``key`` (formatted with ``values``) once, in the next render of the window."""
    ctx.dialog_data[NOTICE] = {"key": key, "values": values}


async def notice(ctx: HookContext) -> dict[str, Any]:
    """Dialog getter: the pending notice, rendered and cleared, so it is shown exactly once."""
    pending = ctx.dialog_data.pop(NOTICE, None)
    if not isinstance(pending, Mapping) or not isinstance(pending.get("key"), str):
        return {NOTICE: ""}
    values = pending.get("values")
    text = services(ctx).texts.render(
        ctx.locale, pending["key"], values if isinstance(values, Mapping) else {}
    )
    return {NOTICE: text}


def text_or(texts: TextCatalog, locale: str, key: str, fallback: str) -> str:
    """The text of ``key``, or of ``fallback`` when the catalog lacks ``key`` (a reason it does not know)."""
    return texts.get(locale, key if texts.has(texts.default_locale, key) else fallback)


def error_text(ctx: HookContext, reason: str | None) -> str:
    """A provider's failure reason in the user's words (``errors.<reason>``, else a general one)."""
    return text_or(services(ctx).texts, ctx.locale, f"errors.{reason}", "errors.internal")


async def scroll_page(ctx: HookContext, scroll_id: str, pages: int | None) -> int:
    """The page a window's scroll is on, clamped into ``range(pages)`` (a forged page number lands in range).

    ``pages=None`` clamps only below zero, for a service that clamps the rest itself.
    """
    scroll = ctx.manager.find(scroll_id)
    if scroll is None:
        return 0
    page = await scroll.get_page()
    clamped = max(page, 0) if pages is None else min(max(page, 0), max(pages, 1) - 1)
    if clamped != page:
        await scroll.set_page(clamped)
    return int(clamped)


async def reset_scroll(ctx: HookContext, scroll_id: str) -> None:
    scroll = ctx.manager.find(scroll_id)
    if scroll is not None:
        await scroll.set_page(0)


def scratch(ctx: HookContext) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for one hook's files (they go to storage before the hook returns)."""
    folder = services(ctx).scratch_dir
    folder.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=folder)


# --- format and background --------------------------------------------------------------------------------


async def choose_format(ctx: HookContext) -> str | None:
    video_format = ctx.args.get("format")
    if video_format not in VIDEO_FORMATS:
        return REJECTED
    draft = load_draft(ctx)
    save_draft(ctx, draft.with_format(video_format))
    if video_format != "background":
        ctx.dialog_data.pop(BACKGROUND, None)
    return None


async def receive_background(ctx: HookContext) -> str | None:
    """``ctx.value`` passed the engine's checks (kind, size, MIME); ffprobe decides if it is usable."""
    media = ctx.value
    if not isinstance(media, ReceivedMedia):
        return REJECTED
    svc = services(ctx)
    draft = load_draft(ctx)
    bot = cast(Bot, ctx.manager.middleware_data["bot"])
    with scratch(ctx) as folder:
        path = Path(folder) / "upload"
        try:
            await bot.download(media.file_id, destination=path)
        except TelegramAPIError:
            notify(ctx, "create.background.problem.unreadable")
            return REJECTED
        try:
            info = await check_background_video(path)
        except MediaProblem as problem:
            notify(ctx, f"create.background.problem.{problem.reason}")
            return REJECTED
        extension = "webm" if "webm" in info.format_names else "mp4"
        key = draft_key(draft.user_id, draft.draft_id, f"background.{extension}")
        await svc.storage.put_file(key, path, content_type=_CONTAINER_TYPES[extension])
    save_draft(ctx, draft.with_format("background").with_background(key))
    ctx.dialog_data[BACKGROUND] = {
        "file_id": media.file_id,
        "kind": media.kind,
        "seconds": round(info.duration or 0.0, 1),
    }
    return None


async def clear_background(ctx: HookContext) -> str | None:
    save_draft(ctx, load_draft(ctx).with_background(None))
    ctx.dialog_data.pop(BACKGROUND, None)
    return None


async def create_background(ctx: HookContext) -> dict[str, Any]:
    draft = load_draft(ctx)
    shown = ctx.dialog_data.get(BACKGROUND)
    if not draft.background_key or not isinstance(shown, Mapping):
        return {"has_background": False, "background_seconds": 0, "background_media": None}
    # Shown back by file_id, as the kind it came as: Telegram refuses a document's file_id in sendVideo.
    kind = ContentType.DOCUMENT if shown.get("kind") == "document" else ContentType.VIDEO
    return {
        "has_background": True,
        "background_seconds": shown.get("seconds", 0),
        "background_media": MediaAttachment(kind, file_id=MediaId(str(shown["file_id"]))),
    }


# --- gender and gallery -------------------------------------------------------------------------------------


async def choose_gender(ctx: HookContext) -> str | None:
    gender = ctx.args.get("gender")
    if gender not in GENDERS:
        return REJECTED
    if ctx.dialog_data.get(GENDER) != gender:
        await reset_scroll(ctx, CHARACTER_SCROLL)
    ctx.dialog_data[GENDER] = gender
    return None


async def back_from_gender(ctx: HookContext) -> str | None:
    """Back goes to the background upload in that format, else to the format choice."""
    return BACKGROUND if load_draft(ctx).format == "background" else None


def chosen_gender(ctx: HookContext) -> Gender | None:
    gender = ctx.dialog_data.get(GENDER)
    return cast(Gender, gender) if gender in GENDERS else None


def character_fields(ctx: HookContext, character: Character | None) -> dict[str, Any]:
    if character is None:
        return {"name": "", "age": "", "photo": None}
    name = services(ctx).catalog.text(character.name, ctx.locale)
    return {"name": name, "age": character.age, "photo": str(character.image)}


async def create_gallery(ctx: HookContext) -> dict[str, Any]:
    """One character per page of the chosen gender; the select holds just that character."""
    svc = services(ctx)
    characters = svc.catalog.characters(chosen_gender(ctx))
    page = await scroll_page(ctx, CHARACTER_SCROLL, len(characters))
    character = characters[page] if characters else None
    fields = character_fields(ctx, character)
    pick = [{"id": character.id, "name": fields["name"]}] if character is not None else []
    return {**fields, "pages": len(characters), "pick": pick}


async def pick_character(ctx: HookContext) -> str | None:
    """``ctx.item_id`` comes from callback data, which a client can forge: only catalog ids are taken."""
    character = services(ctx).catalog.character(ctx.item_id or "")
    if character is None:
        notify(ctx, "create.gallery.unavailable")
        return UNAVAILABLE
    draft = load_draft(ctx)
    if draft.character_id != character.id:
        await reset_scroll(ctx, VOICE_SCROLL)
    save_draft(ctx, draft.with_character(character.id))
    ctx.dialog_data[GENDER] = character.gender
    return None


def register(registry: HookRegistry) -> None:
    registry.add_getter("notice", notice)
    registry.add_action("choose_format", choose_format, outcomes=("ok", REJECTED))
    registry.add_action("receive_background", receive_background, outcomes=("ok", REJECTED))
    registry.add_action("clear_background", clear_background)
    registry.add_getter("create_background", create_background)
    registry.add_action("choose_gender", choose_gender, outcomes=("ok", REJECTED))
    registry.add_action("back_from_gender", back_from_gender, outcomes=("ok", BACKGROUND))
    registry.add_getter("create_gallery", create_gallery)
    registry.add_action("pick_character", pick_character, outcomes=("ok", UNAVAILABLE))
