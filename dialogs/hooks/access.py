"""Typed access for hooks to what the runtime puts into their context, and shared formatting."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from app.domain.users import UserInfo
from dialogs.i18n import TextCatalog
from dialogs.registry import HookContext

if TYPE_CHECKING:
    from app.services.container import Services


def services(ctx: HookContext) -> Services:
    """The runtime's service container; the engine keeps ``ctx.services`` untyped as it knows no services."""
    return cast("Services", ctx.services)


async def current_user(ctx: HookContext) -> UserInfo:
    """The user of the update; created on the spot if the user middleware has not stored them."""
    if ctx.user is None:
        raise LookupError("this hook needs the Telegram user of the update")
    users = services(ctx).users
    return await users.get(ctx.user.id) or await users.ensure_user(ctx.user)


def date_text(moment: datetime) -> str:
    """Dates as users read them in both locales: dd.mm.yyyy."""
    return moment.strftime("%d.%m.%Y")


def language_name(texts: TextCatalog, locale: str) -> str:
    return texts.get(locale, f"language.name_{locale}")
