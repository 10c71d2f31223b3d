"""Create a video: the optional look edit — charged per attempt, refunded when the editor refuses or fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.domain.credits import InsufficientCredits
from app.domain.generations import Draft, LookEditLimit
from app.services.providers import EditRefused, ProviderError
from app.services.storage.keys import draft_key
from dialogs.hooks.access import current_user, services
from dialogs.hooks.create import character_fields, error_text, load_draft, notify, save_draft, scratch
from dialogs.registry import HookContext, HookRegistry

EDIT_ATTEMPTS = "look_attempts"  # every attempt gets its own number, refunded ones included
LOOK_NOTE = "look_note"

EMPTY = "empty"
LIMIT = "limit"
NO_CREDITS = "no_credits"
REFUSED = "refused"
FAILED = "failed"


async def look_path(ctx: HookContext, draft: Draft) -> Path | None:
    """The picture the video will use: the edited look, else the character's photo."""
    svc = services(ctx)
    if draft.edited_image_key:
        path = await svc.files.path(draft.edited_image_key)
        if path is not None:
            return path
    character = svc.catalog.character(draft.character_id or "")
    return character.image if character is not None else None


async def create_look(ctx: HookContext) -> dict[str, Any]:
    svc = services(ctx)
    draft = load_draft(ctx)
    used = await svc.generations.look_edits_used(draft.user_id, draft.draft_id)
    limit = svc.pricing.max_look_edits
    fields = character_fields(ctx, svc.catalog.character(draft.character_id or ""))
    photo = await look_path(ctx, draft)
    user = await current_user(ctx)
    return {
        **fields,
        "photo": str(photo) if photo is not None else None,
        "can_edit": used < limit,
        "edited": draft.edited_image_key is not None,
        "look_edit_price": svc.pricing.look_edit,
        "max_edits": limit,
        "edits_left": max(limit - used, 0),
        "edit_number": min(used + 1, limit),
        "balance": user.balance,
        "look_note": str(ctx.dialog_data.get(LOOK_NOTE, "")),
    }


async def edit_look(ctx: HookContext) -> str | None:  # noqa: PLR0911  (one outcome per way it can end)
    """Charge one edit, run the editor on the current look, keep the result; refund if nothing came of it."""
    prompt = str(ctx.value or "").strip()
    if not prompt:
        notify(ctx, "create.edit.empty")
        return EMPTY
    svc = services(ctx)
    draft = load_draft(ctx)
    source = await look_path(ctx, draft)
    if source is None:
        notify(ctx, "create.take.missing")
        return FAILED
    attempt = int(ctx.dialog_data.get(EDIT_ATTEMPTS, 0)) + 1
    try:
        await svc.generations.charge_look_edit(draft.user_id, draft.draft_id, attempt)
    except LookEditLimit as exc:
        notify(ctx, "create.edit.limit", limit=exc.limit)
        return LIMIT
    except InsufficientCredits as exc:
        notify(ctx, "create.edit.no_credits", cost=exc.cost, balance=exc.balance)
        return NO_CREDITS
    ctx.dialog_data[EDIT_ATTEMPTS] = attempt
    with scratch(ctx) as folder:
        try:
            edited = await svc.image_editor.edit(source, prompt, workdir=Path(folder))
            await svc.costs.record(edited.cost, purpose="look_edit", user_id=draft.user_id)
            suffix = edited.path.suffix.lower() if edited.path.suffix.lower() in IMAGE_TYPES else ".jpg"
            key = draft_key(draft.user_id, draft.draft_id, f"look{attempt}{suffix}")
            await svc.storage.put_file(key, edited.path, content_type=IMAGE_TYPES[suffix])
        except EditRefused as exc:
            refunded = await svc.generations.refund_look_edit(draft.user_id, draft.draft_id, attempt)
            notify(ctx, "create.edit.refused", reason=error_text(ctx, exc.reason), cost=refunded)
            return REFUSED
        except ProviderError as exc:
            refunded = await svc.generations.refund_look_edit(draft.user_id, draft.draft_id, attempt)
            notify(ctx, "create.edit.failed", reason=error_text(ctx, exc.reason), cost=refunded)
            return FAILED
        except Exception:
            # A bug or a storage failure: nothing came of the paid edit, so it is returned before the error.
            await svc.generations.refund_look_edit(draft.user_id, draft.draft_id, attempt)
            raise
    save_draft(ctx, draft.with_edited_image(key))
    ctx.dialog_data[LOOK_NOTE] = edited.note
    return None


async def reset_look(ctx: HookContext) -> str | None:
    """Back to the character's own photo; the edits already paid for stay counted."""
    save_draft(ctx, load_draft(ctx).with_edited_image(None))
    ctx.dialog_data.pop(LOOK_NOTE, None)
    return None


IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def register(registry: HookRegistry) -> None:
    registry.add_getter("create_look", create_look)
    registry.add_action("edit_look", edit_look, outcomes=("ok", EMPTY, LIMIT, NO_CREDITS, REFUSED, FAILED))
    registry.add_action("reset_look", reset_look)
