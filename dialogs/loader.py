"""flows.yaml → frozen models, keeping the line of every node so each problem can be reported as file:line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml
from yaml.constructor import SafeConstructor

from dialogs.errors import (
    DuplicateKey,
    FlowError,
    FlowErrors,
    SchemaViolation,
    UnreadableFile,
    YamlSyntaxError,
)
from dialogs.schema import Flows
from dialogs.schema_messages import explain

NodePath = tuple[str | int, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"
# libyaml's parser keeps the same marks and is several times faster than the pure-Python one.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Node path → 1-based line; a path with no line of its own gets its nearest ancestor's."""

    lines: Mapping[NodePath, int]

    def line_of(self, path: Sequence[str | int]) -> int:
        key = tuple(path)
        while key:
            line = self.lines.get(key)
            if line is not None:
                return line
            key = key[:-1]
        return self.lines.get((), 1)


@dataclass(frozen=True, slots=True)
class LoadedFlows:
    flows: Flows
    path: Path
    source: SourceMap

    def problem(self, kind: type[FlowError], node: Sequence[str | int], message: str) -> FlowError:
        """A problem of rule ``kind`` at ``node``, with the line and dialog/window ids of that node."""
        dialog, window = ids_of(node)
        return kind(self.path, self.source.line_of(node), message, dialog, window)


def ids_of(node: Sequence[str | int]) -> tuple[str | None, str | None]:
    """(dialog, window) a node path lies in: ``("dialogs", "main", "windows", "menu", …)`` → main, menu."""
    if len(node) < 2 or node[0] != "dialogs" or not isinstance(node[1], str):
        return None, None
    if len(node) >= 4 and node[2] == "windows" and isinstance(node[3], str):
        return node[1], node[3]
    return node[1], None


def load_flows(path: Path) -> LoadedFlows:
    """Parse and schema-check a flows file; raises ``FlowErrors`` listing every problem found."""
    data, source, problems = _read(path)
    flows: Flows | None = None
    if not any(isinstance(p, YamlSyntaxError | UnreadableFile) for p in problems):
        if data is None:
            problems.append(SchemaViolation(path, 1, "the file is empty"))
        else:
            try:
                flows = Flows.model_validate(data)
            except pydantic.ValidationError as exc:
                for node, message in explain(exc, data):
                    dialog, window = ids_of(node)
                    problems.append(SchemaViolation(path, source.line_of(node), message, dialog, window))
    if problems or flows is None:
        raise FlowErrors(_dedupe(problems))
    return LoadedFlows(flows, path, source)


def read_yaml(path: Path) -> tuple[Any, SourceMap]:
    """Plain data (keys always text, so ``on:`` stays a word) and its source map; raises ``FlowErrors``."""
    data, source, problems = _read(path)
    if problems:
        raise FlowErrors(_dedupe(problems))
    return data, source


def _read(path: Path) -> tuple[Any, SourceMap, list[FlowError]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, SourceMap({}), [UnreadableFile(path, 1, f"cannot read the file: {reason}")]
    try:
        root = yaml.compose(text, Loader=_YAML_LOADER)
    except yaml.MarkedYAMLError as exc:
        return None, SourceMap({}), [_syntax_error(path, text, exc)]
    except yaml.YAMLError as exc:
        return None, SourceMap({}), [YamlSyntaxError(path, 1, f"malformed YAML: {exc}")]
    if root is None:
        return None, SourceMap({(): 1}), []
    builder = _Builder(path)
    data = builder.build(root, ())
    return data, SourceMap(builder.lines), builder.problems


def _syntax_error(path: Path, text: str, exc: yaml.MarkedYAMLError) -> YamlSyntaxError:
    mark = exc.problem_mark or exc.context_mark
    last_line = max(1, len(text.splitlines()))
    # A problem found at the end of the stream is marked one line past the last one.
    line = min(mark.line + 1, last_line) if mark is not None else 1
    what = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
    if exc.context_mark is not None and exc.context_mark.line + 1 != line:
        what += f" (started at line {exc.context_mark.line + 1})"
    return YamlSyntaxError(path, line, f"malformed YAML: {what}")


def _dedupe(problems: list[FlowError]) -> list[FlowError]:
    seen: set[tuple[int, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.line, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return sorted(unique, key=lambda p: p.line)


class _Builder:
    """Plain data from composed nodes, recording lines and repeated keys (PyYAML drops those silently)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[NodePath, int] = {}
        self.problems: list[FlowError] = []
        self._scalars = SafeConstructor()
        self._open: set[int] = set()

    def build(self, node: yaml.Node, at: NodePath) -> Any:
        self.lines.setdefault(at, node.start_mark.line + 1)
        if id(node) in self._open:
            self._problem(
                YamlSyntaxError, node, at, "malformed YAML: an alias refers to a node that contains it"
            )
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, at)
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*at, i)) for i, item in enumerate(node.value)]
            return self._scalar(node, at)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: yaml.Node, at: NodePath) -> Any:
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            self._problem(YamlSyntaxError, node, at, f"malformed YAML: {exc.problem or exc}")
            return None

    def _mapping(self, node: yaml.MappingNode, at: NodePath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(
                    SchemaViolation, key_node, at, "a key must be plain text, not a list or mapping"
                )
                continue
            # The raw text, so that `on:`/`yes:` stay words instead of YAML 1.1 booleans.
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_line:
                self._problem(
                    DuplicateKey,
                    key_node,
                    (*at, key),
                    f"duplicate key {key!r} (first at line {first_line[key]})",
                )
                continue
            first_line[key] = line
            self.lines.setdefault((*at, key), line)
            out[key] = self.build(value_node, (*at, key))
        for merge in merges:
            for source in merge.value if isinstance(merge, yaml.SequenceNode) else [merge]:
                merged = self.build(source, at)
                if not isinstance(merged, dict):
                    self._problem(SchemaViolation, source, at, "'<<' merges only mappings")
                    continue
                for key, value in merged.items():
                    out.setdefault(key, value)
        return out

    def _problem(self, kind: type[FlowError], node: yaml.Node, at: NodePath, message: str) -> None:
        dialog, window = ids_of(at)
        self.problems.append(kind(self.path, node.start_mark.line + 1, message, dialog, window))
