"""``when:`` conditions of flows.yaml: a getter field that must be truthy, or falsy when prefixed with ``!``.

A field may be a dotted path into nested mappings (``dialog_data.format``) or sequences (``items.0``); a path
that does not resolve counts as falsy, so a missing field hides a widget instead of breaking the render.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Predicate = Callable[[dict[str, Any], Any, Any], bool]


def lookup(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` in ``data``, or None when any step is missing."""
    node: Any = data
    for part in path.split("."):
        if isinstance(node, Mapping):
            if part not in node:
                return None
            node = node[part]
        elif isinstance(node, Sequence) and not isinstance(node, str) and part.isdigit():
            index = int(part)
            if index >= len(node):
                return None
            node = node[index]
        else:
            return None
    return node


def holds(condition: str, data: Mapping[str, Any]) -> bool:
    """Whether ``condition`` (``field`` or ``!field``) is true for ``data``."""
    if condition.startswith("!"):
        return not lookup(data, condition[1:])
    return bool(lookup(data, condition))


def when(condition: str | None) -> Predicate | None:
    """An aiogram-dialog ``when=`` predicate for ``condition``; None shows the widget always."""
    if condition is None:
        return None

    def predicate(data: dict[str, Any], widget: Any, manager: Any) -> bool:
        return holds(condition, data)

    return predicate
