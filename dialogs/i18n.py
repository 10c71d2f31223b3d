"""Locale texts: catalog/texts/<locale>.yaml, nested keys flattened with dots."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class TextsError(ValueError):
    """A locale file is missing or is not a mapping of strings."""


@dataclass(frozen=True, slots=True)
class TextLocation:
    path: Path
    line: int


class _MissingAsEmpty(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def placeholders(template: str) -> set[str]:
    """Top-level field names a template formats, e.g. ``{item[question]}`` → ``item``."""
    names: set[str] = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field:
            names.add(field.split("[", 1)[0].split(".", 1)[0])
    return names


class TextCatalog:
    """Texts per locale; a key missing in one locale falls back to the default locale at run time."""

    def __init__(
        self,
        texts: Mapping[str, Mapping[str, str]],
        default_locale: str,
        locations: Mapping[tuple[str, str], TextLocation] | None = None,
    ) -> None:
        self._texts = {loc: dict(keys) for loc, keys in texts.items()}
        self.default_locale = default_locale
        self._locations = dict(locations or {})

    @classmethod
    def load(cls, folder: Path, locales: Iterable[str], default_locale: str) -> TextCatalog:
        texts: dict[str, dict[str, str]] = {}
        locations: dict[tuple[str, str], TextLocation] = {}
        for locale in locales:
            path = folder / f"{locale}.yaml"
            if not path.is_file():
                raise TextsError(f"{path}: texts for locale {locale!r} not found")
            try:
                node = yaml.compose(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise TextsError(f"{path}: not valid YAML: {exc}") from exc
            flat: dict[str, str] = {}
            if node is not None:
                _flatten(node, "", out=flat, locations=locations, locale=locale, path=path)
            texts[locale] = flat
        return cls(texts, default_locale, locations)

    @property
    def locales(self) -> list[str]:
        return list(self._texts)

    def keys(self, locale: str) -> set[str]:
        return set(self._texts.get(locale, {}))

    def has(self, locale: str, key: str) -> bool:
        return key in self._texts.get(locale, {})

    def get(self, locale: str, key: str) -> str:
        for loc in (locale, self.default_locale):
            value = self._texts.get(loc, {}).get(key)
            if value is not None:
                return value
        return key

    def render(self, locale: str, key: str, data: Mapping[str, Any]) -> str:
        """The text for ``key`` formatted with ``data``; unknown placeholders stay visible, never raise."""
        template = self.get(locale, key)
        try:
            return template.format_map(_MissingAsEmpty(data))
        except (IndexError, KeyError, AttributeError, ValueError, TypeError):
            return template

    def location(self, locale: str, key: str) -> TextLocation | None:
        return self._locations.get((locale, key))


def _flatten(
    node: yaml.Node,
    prefix: str,
    *,
    out: dict[str, str],
    locations: dict[tuple[str, str], TextLocation],
    locale: str,
    path: Path,
) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            _flatten(value_node, key, out=out, locations=locations, locale=locale, path=path)
        return
    if isinstance(node, yaml.ScalarNode) and prefix:
        out[prefix] = str(node.value)
        locations[(locale, prefix)] = TextLocation(path, node.start_mark.line + 1)
        return
    raise TextsError(
        f"{path}:{node.start_mark.line + 1}: {prefix or 'top level'}: expected text or a mapping"
    )
