"""Fixed data and hooks shared by both sides of the benchmark, so the two render the same screens."""

from __future__ import annotations

from typing import Any

from dialogs.registry import HookContext, HookRegistry

USER: dict[str, Any] = {"first_name": "Анна", "balance": 50}
PROFILE: dict[str, Any] = {"plan": "Старт", "videos": 3}


async def user_summary(ctx: HookContext) -> dict[str, Any]:
    return {**USER, "top_ups": ctx.dialog_data.get("top_ups", 0)}


async def profile(ctx: HookContext) -> dict[str, Any]:
    return dict(PROFILE)


async def top_up(ctx: HookContext) -> str | None:
    ctx.dialog_data["top_ups"] = ctx.dialog_data.get("top_ups", 0) + 1
    return None


def build_registry() -> HookRegistry:
    """The hooks flows_bench.yaml names."""
    registry = HookRegistry()
    registry.add_getter("user_summary", user_summary)
    registry.add_getter("profile", profile)
    registry.add_action("top_up", top_up)
    return registry
