"""/start: register the user (welcome bonus once, deep-link payload kept)."""

from __future__ import annotations

from dialogs.hooks.access import current_user, services
from dialogs.registry import HookContext, HookRegistry


async def register_user(ctx: HookContext) -> str | None:
    """``ctx.value`` is the deep-link payload of ``/start <payload>``."""
    user = await current_user(ctx)
    svc = services(ctx)
    await svc.users.register(user.id, ctx.value, svc.welcome_bonus)
    return None


def register(registry: HookRegistry) -> None:
    registry.add_action("register_user", register_user)
