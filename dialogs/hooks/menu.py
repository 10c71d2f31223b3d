"""Main menu: who the user is and how many credits they have."""

from __future__ import annotations

from typing import Any

from dialogs.hooks.access import current_user
from dialogs.registry import HookContext, HookRegistry


async def user_summary(ctx: HookContext) -> dict[str, Any]:
    user = await current_user(ctx)
    return {"first_name": user.first_name, "balance": user.balance}


def register(registry: HookRegistry) -> None:
    registry.add_getter("user_summary", user_summary)
