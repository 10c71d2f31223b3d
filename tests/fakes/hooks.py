"""A hook registry for engine tests: getters return set data; actions record calls, return set outcomes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dialogs.registry import HookContext, HookRegistry

GetterData = Mapping[str, Any] | Callable[[HookContext], Mapping[str, Any]]


@dataclass
class FakeHooks:
    """``registry`` to compile with; ``calls`` lists (action name, context) in call order."""

    registry: HookRegistry = field(default_factory=HookRegistry)
    calls: list[tuple[str, HookContext]] = field(default_factory=list)
    outcomes: dict[str, str | None] = field(default_factory=dict)

    def getter(self, name: str, data: GetterData) -> FakeHooks:
        async def get(ctx: HookContext) -> dict[str, Any]:
            return dict(data(ctx) if callable(data) else data)

        self.registry.add_getter(name, get)
        return self

    def action(
        self,
        name: str,
        returns: str | None = None,
        outcomes: tuple[str, ...] = ("ok",),
        effect: Callable[[HookContext], None] | None = None,
    ) -> FakeHooks:
        """Register ``name``; it returns ``self.outcomes[name]`` (``returns`` until a test changes it)."""
        self.outcomes[name] = returns

        async def act(ctx: HookContext) -> str | None:
            self.calls.append((name, ctx))
            if effect is not None:
                effect(ctx)
            return self.outcomes[name]

        self.registry.add_action(name, act, outcomes)
        return self

    def contexts(self, name: str) -> list[HookContext]:
        return [ctx for called, ctx in self.calls if called == name]
