"""Language: show the current one and switch between the flows' locales."""

from __future__ import annotations

from typing import Any

from dialogs.hooks.access import current_user, language_name, services
from dialogs.registry import LOCALE_KEY, HookContext, HookRegistry

# Outcome of a locale the flows do not have (a typo in flows.yaml args): the user stays on the window.
UNSUPPORTED = "unsupported"


async def set_language(ctx: HookContext) -> str | None:
    """``args.locale`` becomes the user's language, starting with the very next render."""
    svc = services(ctx)
    locale = ctx.args.get("locale")
    if not isinstance(locale, str) or locale not in svc.locales:
        return UNSUPPORTED
    user = await current_user(ctx)
    await svc.users.set_locale(user.id, locale)
    ctx.manager.middleware_data[LOCALE_KEY] = locale
    return None


async def language(ctx: HookContext) -> dict[str, Any]:
    return {"language_name": language_name(services(ctx).texts, ctx.locale)}


def register(registry: HookRegistry) -> None:
    registry.add_action("set_language", set_language, outcomes=("ok", UNSUPPORTED))
    registry.add_getter("language", language)
