"""Profile: id, balance, videos made, member since, language."""

from __future__ import annotations

from typing import Any

from dialogs.hooks.access import current_user, date_text, language_name, services
from dialogs.registry import HookContext, HookRegistry


async def profile(ctx: HookContext) -> dict[str, Any]:
    svc = services(ctx)
    user = await current_user(ctx)
    info = await svc.users.profile(user.id)
    return {
        "user_id": info.user_id,
        "balance": info.balance,
        "videos": info.videos,
        "member_since": date_text(info.member_since),
        "language_name": language_name(svc.texts, ctx.locale),
    }


def register(registry: HookRegistry) -> None:
    registry.add_getter("profile", profile)
