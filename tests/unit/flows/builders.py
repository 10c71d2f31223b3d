"""Write a flows file and its locale texts into a temporary folder, and check it like the runtime does."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from dialogs.errors import FlowError
from dialogs.flowfile import check_flows_file
from dialogs.registry import HookRegistry
from tests.fakes.hooks import FakeHooks

# Texts the engine sends on its own, present in every generated locale file.
ENGINE_TEXTS = {
    "common.unexpected_input": "Please tap a button.",
    "common.session_expired": "That button is out of date.",
    "input.wrong_kind": "Please send: {accept}.",
    "input.too_short": "At least {min} characters.",
    "input.too_long": "At most {max} characters.",
    "input.too_big": "At most {max_mb} MB.",
    "input.too_long_media": "At most {max_seconds} s.",
    "input.wrong_type": "Accepted: {allowed}.",
    "input.unreadable": "Please send it again.",
}

_TEXT_FIELDS = frozenset({"text", "key", "description"})


def flows_source(source: str) -> str:
    return textwrap.dedent(source).lstrip("\n")


def write_flows(
    folder: Path,
    source: str,
    *,
    texts: Mapping[str, Mapping[str, str]] | None = None,
    without: Mapping[str, Iterable[str]] | None = None,
    name: str = "flows.yaml",
) -> Path:
    """Write ``source`` (dedented) and per locale a texts file with every key it uses plus the engine texts.

    ``texts`` adds or replaces texts of a locale; ``without`` drops keys from a locale.
    """
    source = flows_source(source)
    path = folder / name
    path.write_text(source, encoding="utf-8")
    data = yaml.safe_load(source)
    if not isinstance(data, dict):
        return path
    texts_folder = folder / str(data.get("texts", "catalog/texts"))
    texts_folder.mkdir(parents=True, exist_ok=True)
    used = dict.fromkeys(_used_keys(data), "Sample text")
    for locale in data.get("locales") or []:
        catalog = {**ENGINE_TEXTS, **used, **(texts or {}).get(locale, {})}
        for key in (without or {}).get(locale, ()):
            catalog.pop(key, None)
        dumped = yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False)
        (texts_folder / f"{locale}.yaml").write_text(dumped, encoding="utf-8")
    return path


def _used_keys(node: Any, field: str | None = None) -> Iterator[str]:
    """Text keys a flow names: values of text/key/description, entries of a text list, messages values."""
    if isinstance(node, dict):
        for key, value in node.items():
            if str(key) == "messages" and isinstance(value, dict):
                yield from (v for v in value.values() if isinstance(v, str))
            elif str(key) != "preview":
                yield from _used_keys(value, str(key))
    elif isinstance(node, list):
        for item in node:
            yield from _used_keys(item, field)
    elif isinstance(node, str) and field in _TEXT_FIELDS:
        yield node


def registry(
    getters: Iterable[str] = (), actions: Mapping[str, tuple[str, ...]] | None = None
) -> HookRegistry:
    """A registry with no-op getters and actions of the given names (action name → extra outcomes)."""
    hooks = FakeHooks()
    for name in getters:
        hooks.getter(name, {})
    for name, outcomes in (actions or {}).items():
        hooks.action(name, outcomes=("ok", *outcomes))
    return hooks.registry


def check(path: Path, hooks: HookRegistry | None = None) -> list[FlowError]:
    """Every problem the runtime would refuse to start with (and the warnings), in report order."""
    return check_flows_file(path, hooks or registry()).problems


def line_with(path: Path, fragment: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line of ``path`` containing ``fragment``."""
    lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if fragment in line]
    return lines[occurrence - 1]
