"""The explicit registry of named hooks that flows.yaml refers to.

Two kinds exist. A *getter* returns the data a window renders. An *action* runs on a click, a picked
item, an input or a command and returns an *outcome* name (``None`` means ``"ok"``); flows.yaml maps
outcomes to targets, so an action never moves the user by itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiogram.types import User
from aiogram_dialog import DialogManager

HookKind = Literal["getter", "action"]

# Keys under which the runtime puts collaborators into aiogram's workflow/middleware data.
SERVICES_KEY = "services"
LOCALE_KEY = "locale"


@dataclass(frozen=True, slots=True)
class HookContext:
    """Everything a hook may use. ``services`` is the runtime's typed service container."""

    manager: DialogManager
    services: Any
    locale: str
    user: User | None
    args: Mapping[str, Any] = field(default_factory=dict)
    item_id: str | None = None
    value: Any = None

    @property
    def dialog_data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.manager.dialog_data
        return data

    @property
    def start_data(self) -> Mapping[str, Any]:
        data = self.manager.start_data
        return data if isinstance(data, Mapping) else {}


Getter = Callable[[HookContext], Awaitable[dict[str, Any]]]
Action = Callable[[HookContext], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    func: Action
    outcomes: frozenset[str]


class UnknownHookError(LookupError):
    pass


class HookRegistry:
    """Name → hook. Built once in the composition root; flows.yaml is validated against it."""

    def __init__(self) -> None:
        self._getters: dict[str, Getter] = {}
        self._actions: dict[str, ActionSpec] = {}

    def add_getter(self, name: str, func: Getter) -> None:
        self._ensure_free(name)
        self._getters[name] = func

    def add_action(self, name: str, func: Action, outcomes: tuple[str, ...] = ("ok",)) -> None:
        self._ensure_free(name)
        self._actions[name] = ActionSpec(func, frozenset(outcomes) | {"ok"})

    def getter(self, name: str) -> Callable[[Getter], Getter]:
        def register(func: Getter) -> Getter:
            self.add_getter(name, func)
            return func

        return register

    def action(self, name: str, outcomes: tuple[str, ...] = ("ok",)) -> Callable[[Action], Action]:
        def register(func: Action) -> Action:
            self.add_action(name, func, outcomes)
            return func

        return register

    def kind_of(self, name: str) -> HookKind | None:
        if name in self._getters:
            return "getter"
        if name in self._actions:
            return "action"
        return None

    def get_getter(self, name: str) -> Getter:
        try:
            return self._getters[name]
        except KeyError:
            raise UnknownHookError(f"no getter named {name!r}") from None

    def get_action(self, name: str) -> ActionSpec:
        try:
            return self._actions[name]
        except KeyError:
            raise UnknownHookError(f"no action named {name!r}") from None

    def names(self) -> Mapping[str, HookKind]:
        kinds: dict[str, HookKind] = dict.fromkeys(self._getters, "getter")
        kinds.update(dict.fromkeys(self._actions, "action"))
        return kinds

    def _ensure_free(self, name: str) -> None:
        if name in self._getters or name in self._actions:
            raise ValueError(f"hook {name!r} is registered twice")
