"""The flow graph straight from flows.yaml: a box per window, an arrow per button, select, input and command.

Drawn from the models rather than from compiled routers so that every edge an action may take (one per
declared outcome) shows, labelled with the button's text in the default locale.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dialogs import schema
from dialogs.i18n import TextCatalog

COMMANDS_NODE = "commands"


class GraphError(RuntimeError):
    """Graphviz is missing or failed."""


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    label: str
    style: str = "solid"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _target_node(target: str, dialog: str, window: str, flows: schema.Flows) -> str | None:
    """The node a target lands on; None for @stay."""
    if target == "@stay":
        return None
    if target == "@home":
        return flows.start
    if target == "@done":
        return f"{dialog}.@done"
    if target == "@back":
        names = list(flows.dialogs[dialog].windows)
        index = names.index(window) if window in names else 0
        return f"{dialog}.{names[max(index - 1, 0)]}"
    resolved = schema.resolve_target(target, dialog)
    return None if resolved is None else ".".join(resolved)


def _transition_edges(
    source: str, label: str, transition: schema.Transition, *, at: tuple[str, str], flows: schema.Flows
) -> Iterator[Edge]:
    dialog, window = at
    targets = transition.targets() or ({"ok": "@stay"} if transition.action else {})
    for outcome, target in sorted(targets.items(), key=lambda item: item[0] != "ok"):
        node = _target_node(target, dialog, window, flows)
        if node is None:
            node = source  # an action that stays: a loop, so the action is still visible
        text = label if transition.action is None else f"{label}\n{transition.action}() → {outcome}"
        yield Edge(source, node, text, "dashed" if transition.action else "solid")


def edges(flows: schema.Flows, texts: TextCatalog) -> list[Edge]:
    locale = flows.default_locale
    found: list[Edge] = []
    for dialog, window, spec in flows.iter_windows():
        source = f"{dialog}.{window}"
        for button in spec.buttons():
            if button.url is None:
                label = texts.get(locale, button.text)
                found += _transition_edges(source, label, button, at=(dialog, window), flows=flows)
        for select in spec.selects():
            label = f"[{select.id}: pick]"
            found += _transition_edges(source, label, select, at=(dialog, window), flows=flows)
        if spec.input is not None:
            label = f"[input: {', '.join(spec.input.accept)}]"
            found += _transition_edges(source, label, spec.input, at=(dialog, window), flows=flows)
    for command in flows.commands:
        found += _transition_edges(COMMANDS_NODE, f"/{command.command}", command, at=("", ""), flows=flows)
    return found


def to_dot(flows: schema.Flows, texts: TextCatalog) -> str:
    """Graphviz source: one cluster per dialog, windows as boxes, a '↩ done' node where a dialog closes."""
    all_edges = edges(flows, texts)
    lines = [
        "digraph flows {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, labelloc=t, label="UGC Bot — flows.yaml"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8, color="#5b7fa3"];',
        f'  {COMMANDS_NODE} [label="commands", shape=note, fillcolor="#fff4d6"];',
    ]
    used_done = {e.target for e in all_edges if e.target.endswith(".@done")}
    for name, dialog in flows.dialogs.items():
        lines.append(f"  subgraph {_quote('cluster_' + name)} {{")
        lines.append(
            f'    label={_quote(name)}; style="rounded,filled"; fillcolor="#e4eef7"; color="#9db7cf";'
        )
        for window in dialog.windows:
            node = f"{name}.{window}"
            start = ', fillcolor="#d9f2d9", penwidth=2' if node == flows.start else ""
            lines.append(f"    {_quote(node)} [label={_quote(window)}{start}];")
        if f"{name}.@done" in used_done:
            lines.append(f'    {_quote(name + ".@done")} [label="↩ done", shape=oval, fillcolor="#f3f3f3"];')
        lines.append("  }")
    for edge in all_edges:
        attributes = f"label={_quote(edge.label)}, style={edge.style}"
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)} [{attributes}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(flows: schema.Flows, texts: TextCatalog, path: Path) -> Path:
    """Write the graph as SVG with Graphviz's ``dot`` (Debian package ``graphviz``)."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphError("Graphviz's `dot` is not installed: apt-get install graphviz")
    result = subprocess.run(
        [dot, "-Tsvg"], input=to_dot(flows, texts).encode(), capture_output=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise GraphError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(result.stdout)
    return path
