"""Feedback (U15): the user writes (text or a photo with a caption); it goes to the admins' chat."""

from __future__ import annotations

from app.services.feedback import FeedbackUnavailable
from dialogs.hooks.access import current_user, services
from dialogs.hooks.create import notify
from dialogs.inputs import ReceivedMedia
from dialogs.registry import HookContext, HookRegistry

UNAVAILABLE, TOO_OFTEN = "unavailable", "too_often"
PER_HOUR = 10


async def send_feedback(ctx: HookContext) -> str | None:
    svc = services(ctx)
    user = await current_user(ctx)
    if svc.feedback is None or svc.feedback.chat_id is None:
        notify(ctx, "feedback.unavailable")
        return UNAVAILABLE
    allowed, wait = await svc.throttle.take(f"feedback:{user.id}", limit=PER_HOUR, window=3600)
    if not allowed:
        notify(ctx, "feedback.too_often", minutes=max(1, wait // 60))
        return TOO_OFTEN
    value = ctx.value
    photo = value.file_id if isinstance(value, ReceivedMedia) else None
    text = (value.caption or "") if isinstance(value, ReceivedMedia) else str(value or "")
    try:
        await svc.feedback.forward(
            user_id=user.id, name=user.first_name, username=user.username, text=text, photo_file_id=photo
        )
    except FeedbackUnavailable:
        notify(ctx, "feedback.unavailable")
        return UNAVAILABLE
    return None


def register(registry: HookRegistry) -> None:
    registry.add_action("send_feedback", send_feedback, outcomes=("ok", UNAVAILABLE, TOO_OFTEN))
