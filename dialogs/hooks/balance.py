"""Balance: current credits and the latest ledger movements with their reasons."""

from __future__ import annotations

from typing import Any

from app.domain.credits import LedgerEntryInfo
from dialogs.hooks.access import current_user, date_text, services
from dialogs.i18n import TextCatalog
from dialogs.registry import HookContext, HookRegistry

# The Balance screen lists this many of the latest movements (U16).
HISTORY_ROWS = 20


def history_line(entry: LedgerEntryInfo, texts: TextCatalog, locale: str) -> str:
    """``+50 — welcome bonus (24.11.2026)``; a row that moved nothing (a capture) shows ``✓``."""
    reason = texts.get(locale, f"balance.reason.{entry.reason.value}")
    amount = f"{entry.delta:+d}" if entry.delta else "✓"
    return f"{amount} — {reason} ({date_text(entry.created_at)})"


async def balance(ctx: HookContext) -> dict[str, Any]:
    svc = services(ctx)
    user = await current_user(ctx)
    entries = await svc.ledger.history(user.id, HISTORY_ROWS)
    return {
        "balance": user.balance,
        "has_history": bool(entries),
        "history": "\n".join(history_line(e, svc.texts, ctx.locale) for e in entries),
    }


def register(registry: HookRegistry) -> None:
    registry.add_getter("balance", balance)
