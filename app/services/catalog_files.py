"""Typed loading of catalog YAML files; every error names the file, the line and what is wrong."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class CatalogError(ValueError):
    """A catalog file that is missing, is not YAML or does not fit its model."""


def load_catalog_file(path: Path, model: type[M], context: Mapping[str, Any] | None = None) -> M:
    """``path`` parsed and validated as ``model``; ``context`` reaches the model's validators."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from None
    try:
        return model.model_validate(data, context=dict(context or {}))
    except ValidationError as exc:
        problems = [
            f"{path}:{_line_of(root, error['loc'])}: {_dotted(error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
        raise CatalogError("\n".join(problems)) from None


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "top level"


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int:
    """Line of the deepest YAML node the error location reaches (1-based)."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
