"""The typed container hooks reach through ``ctx.services``; built once by the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.services.clock import Clock, SystemClock
from app.services.faq import FaqCatalog
from app.services.ledger import Ledger
from app.services.users import UserService
from dialogs.i18n import TextCatalog

__all__ = ["Clock", "Services", "SystemClock", "build_services"]


@dataclass(frozen=True, slots=True)
class Services:
    users: UserService
    ledger: Ledger
    faq: FaqCatalog
    texts: TextCatalog
    welcome_bonus: int
    locales: tuple[str, ...]
    clock: Clock

    @property
    def default_locale(self) -> str:
        return self.texts.default_locale


def build_services(
    *,
    texts: TextCatalog,
    faq: FaqCatalog,
    locales: Sequence[str],
    welcome_bonus: int,
    clock: Clock | None = None,
) -> Services:
    """Services over an already initialised database (see ``app.db.setup.init_db``)."""
    clock = clock or SystemClock()
    ledger = Ledger(clock)
    users = UserService(ledger, clock, locales, texts.default_locale)
    return Services(
        users=users,
        ledger=ledger,
        faq=faq,
        texts=texts,
        welcome_bonus=welcome_bonus,
        locales=tuple(locales),
        clock=clock,
    )
