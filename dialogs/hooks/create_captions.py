"""Create a video, the price screen: burned-in captions on or off, and their style (catalog/captions.yaml)."""

from __future__ import annotations

from typing import Any

from app.domain.generations import Draft
from dialogs.hooks.access import services
from dialogs.hooks.create import load_draft, save_draft
from dialogs.registry import HookContext, HookRegistry

STYLE_TEXT = "create.captions.style."  # + a style name: how the style is called on its button
# The style picked last, so that captions switched off and on again come back as the user left them.
CHOSEN_STYLE = "caption_style"


def current_style(ctx: HookContext, draft: Draft) -> str | None:
    """The style the draft's captions get: its own if the catalog still has it, else the default one."""
    styles = services(ctx).caption_styles
    if draft.caption_style in styles:
        return draft.caption_style
    return styles[0] if styles else None


def style_name(ctx: HookContext, style: str | None) -> str:
    """A style as the user reads it: its text in the user's language, else its catalog name."""
    if style is None:
        return ""
    texts = services(ctx).texts
    key = STYLE_TEXT + style
    return texts.get(ctx.locale, key) if texts.has(texts.default_locale, key) else style


def caption_fields(ctx: HookContext) -> dict[str, Any]:
    """What the captions buttons and the summary line show."""
    svc = services(ctx)
    draft = load_draft(ctx)
    style = style_name(ctx, current_style(ctx, draft))
    state = svc.texts.get(ctx.locale, "create.captions.on" if draft.captions else "create.captions.off")
    return {
        "captions": draft.captions,
        "captions_state": state,
        "caption_style_name": style,
        "captions_summary": style if draft.captions and style else state,
        # Cycling makes sense only with something to cycle through.
        "can_style": draft.captions and len(svc.caption_styles) > 1,
    }


async def toggle_captions(ctx: HookContext) -> str | None:
    draft = load_draft(ctx)
    if draft.captions:
        if draft.caption_style is not None:
            ctx.dialog_data[CHOSEN_STYLE] = draft.caption_style
        save_draft(ctx, draft.with_captions(False))
    else:
        remembered = ctx.dialog_data.get(CHOSEN_STYLE)
        style = remembered if remembered in services(ctx).caption_styles else None
        save_draft(ctx, draft.with_captions(True, style))
    return None


async def next_caption_style(ctx: HookContext) -> str | None:
    """The style after the current one, round the list; a stale tap with captions off changes nothing."""
    draft = load_draft(ctx)
    styles = services(ctx).caption_styles
    current = current_style(ctx, draft)
    if not draft.captions or current is None:
        return None
    chosen = styles[(styles.index(current) + 1) % len(styles)]
    ctx.dialog_data[CHOSEN_STYLE] = chosen
    save_draft(ctx, draft.with_captions(True, chosen))
    return None


def register(registry: HookRegistry) -> None:
    registry.add_action("toggle_captions", toggle_captions)
    registry.add_action("next_caption_style", next_caption_style)
