"""Create a video: a free, quick local preview of the draft before paying (a few per user per hour).

The worker renders it (``app.jobs.preview.DraftPreview``) and sends it as a new message; nothing is charged.
Each preview of a draft is job ``preview:<user>:<draft>:<n>``: ``n`` changes only when the draft does, so a
second tap on the same draft while its preview is still queued or rendering is one job, not two.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from app.domain.generations import Draft
from dialogs.hooks.access import services
from dialogs.hooks.create import load_draft, notify, user_id
from dialogs.registry import HookContext, HookRegistry

# In dialog_data: {"draft_id", "n", "fingerprint", "at"} of the last preview asked for.
LAST_PREVIEW = "preview"
HOUR = 3600
# The same draft asked again this soon is a double tap: the user is told it is on its way, and it neither
# counts against the hourly limit nor reaches the queue.
DOUBLE_TAP_SECONDS = 30.0

INCOMPLETE = "incomplete"
LIMITED = "limited"
OFF = "off"
QUEUED = "queued"


def throttle_key(user: int) -> str:
    return f"preview:{user}"


def fingerprint(draft: Draft) -> str:
    """What the preview shows, in a few bytes: two drafts with the same fingerprint render alike."""
    data = json.dumps(draft.to_data(), sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def preview_fields(ctx: HookContext) -> dict[str, Any]:
    return {"can_preview": services(ctx).previews_per_hour > 0}


async def request_preview(ctx: HookContext) -> str | None:
    """Queue a free preview of the draft, or say why not (incomplete, the hourly limit used up)."""
    svc = services(ctx)
    if svc.previews_per_hour <= 0:
        notify(ctx, "create.preview.off")
        return OFF
    draft = load_draft(ctx)
    if not draft.ready:
        notify(ctx, "create.preview.incomplete")
        return INCOMPLETE
    user = user_id(ctx)
    now = svc.clock.now().timestamp()
    mark = fingerprint(draft)
    last = ctx.dialog_data.get(LAST_PREVIEW)
    if not isinstance(last, Mapping) or last.get("draft_id") != draft.draft_id:
        last = {}
    number = int(last.get("n", 0))
    if last.get("fingerprint") == mark:
        if now - float(last.get("at", 0.0)) < DOUBLE_TAP_SECONDS:
            notify(ctx, "create.preview.on_its_way")
            return QUEUED
    else:
        number += 1
    allowed, reset_in = await svc.throttle.take(throttle_key(user), limit=svc.previews_per_hour, window=HOUR)
    if not allowed:
        notify(
            ctx,
            "create.preview.limit",
            limit=svc.previews_per_hour,
            minutes=max(1, math.ceil(reset_in / 60)),
        )
        return LIMITED
    ctx.dialog_data[LAST_PREVIEW] = {"draft_id": draft.draft_id, "n": number, "fingerprint": mark, "at": now}
    if not await svc.jobs.enqueue_preview(user, draft.draft_id, number, draft.to_data()):
        # This very preview is still queued or rendering (asked again after a while): one job, one video.
        notify(ctx, "create.preview.on_its_way")
        return QUEUED
    notify(ctx, "create.preview.rendering")
    return None


def register(registry: HookRegistry) -> None:
    registry.add_action("request_preview", request_preview, outcomes=("ok", INCOMPLETE, LIMITED, OFF, QUEUED))
