from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.services.container import Services
from dialogs.registry import HookContext
from tests.fakes.services import fake_services


@dataclass(frozen=True)
class TgUser:
    id: int = 1
    first_name: str = "Анна"
    username: str | None = "anna"
    language_code: str | None = "ru"


@dataclass
class FakeScroll:
    """aiogram-dialog's ManagedScroll: the page a window's scroll is on."""

    page: int = 0

    async def get_page(self) -> int:
        return self.page

    async def set_page(self, page: int) -> None:
        self.page = page


@dataclass
class FakeManager:
    """The parts of aiogram-dialog's DialogManager a hook touches."""

    dialog_data: dict[str, Any] = field(default_factory=dict)
    start_data: dict[str, Any] | None = None
    middleware_data: dict[str, Any] = field(default_factory=dict)
    scrolls: dict[str, FakeScroll] = field(default_factory=dict)

    def find(self, widget_id: str) -> FakeScroll:
        return self.scrolls.setdefault(widget_id, FakeScroll())


MakeContext = Callable[..., HookContext]


@pytest.fixture
def services() -> Services:
    return fake_services()


@pytest.fixture
def make_ctx(services: Services) -> MakeContext:
    """A HookContext for user 1 over the fake services; keyword arguments override its fields."""

    def make(
        *,
        locale: str = "ru",
        user: TgUser | None = None,
        manager: FakeManager | None = None,
        args: dict[str, Any] | None = None,
        value: Any = None,
    ) -> HookContext:
        return HookContext(
            manager=manager or FakeManager(),  # type: ignore[arg-type]
            services=services,
            locale=locale,
            user=user or TgUser(),  # type: ignore[arg-type]
            args=args or {},
            value=value,
        )

    return make
