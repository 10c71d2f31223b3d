"""The preview: every window rendered from its preview data in every locale (HTML), and the flow graph (SVG).

Windows are rendered by the compiled widgets themselves through aiogram-dialog's preview manager, so the
HTML shows what a user would see; nothing needs Redis, a database or Telegram. Each button carries where it
leads, read from flows.yaml, because the preview never runs an action.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram.types import ContentType, InlineKeyboardMarkup
from aiogram_dialog.api.entities import MediaAttachment
from aiogram_dialog.tools.preview import FakeManager
from aiogram_dialog.utils import remove_intent_id
from jinja2 import Environment, select_autoescape

from dialogs import schema
from dialogs.compile import OK, CompiledFlows, compile_flows
from dialogs.graph import render_svg
from dialogs.i18n import TextCatalog
from dialogs.inputs import kind_names
from dialogs.registry import LOCALE_KEY, HookContext, HookRegistry
from dialogs.widgets import pager_ids, select_scroll_id

GRAPH_NAME = "flows"


@dataclass(frozen=True, slots=True)
class PreviewButton:
    text: str
    leads_to: str


@dataclass(frozen=True, slots=True)
class PreviewMedia:
    kind: str
    src: str | None
    label: str


@dataclass(frozen=True, slots=True)
class PreviewWindow:
    dialog: str
    window: str
    locale: str
    text: str
    keyboard: list[list[PreviewButton]]
    media: PreviewMedia | None
    accepts: str | None

    @property
    def address(self) -> str:
        return f"{self.dialog}.{self.window}"


@dataclass(frozen=True, slots=True)
class PreviewFiles:
    html: Path
    graph: Path


def stub_registry(flows: schema.Flows) -> HookRegistry:
    """A registry with a do-nothing hook for every name flows.yaml uses: previews never call hooks."""
    registry = HookRegistry()

    async def no_data(ctx: HookContext) -> dict[str, Any]:
        return {}

    async def no_outcome(ctx: HookContext) -> str | None:
        return None

    getters = {flows.dialogs[d].getter for d in flows.dialogs} | {
        w.getter for _, _, w in flows.iter_windows()
    }
    for name in sorted(n for n in getters if n is not None):
        registry.add_getter(name, no_data)
    for name in sorted(_action_names(flows)):
        registry.add_action(name, no_outcome)
    return registry


def _action_names(flows: schema.Flows) -> set[str]:
    transitions: list[schema.Transition] = list(flows.commands)
    for _, _, window in flows.iter_windows():
        transitions += window.buttons()
        transitions += window.selects()
        if window.input is not None:
            transitions.append(window.input)
    return {t.action for t in transitions if t.action is not None}


class _PreviewManager(FakeManager):
    """aiogram-dialog's preview manager, speaking ``locale``."""

    def __init__(self, locale: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # aiogram-dialog's FakeManager is untyped
        self.middleware_data[LOCALE_KEY] = locale


async def render_windows(compiled: CompiledFlows, locale: str) -> list[PreviewWindow]:
    """Every window of ``compiled`` rendered from its preview data in ``locale``, in flows.yaml order."""
    flows = compiled.flows
    manager = _PreviewManager(locale)
    rendered: list[PreviewWindow] = []
    for dialog_name, dialog in zip(flows.dialogs, compiled.dialogs, strict=True):
        manager.set_dialog(dialog)
        for window_name, window in flows.dialogs[dialog_name].windows.items():
            manager.set_state(compiled.state(dialog_name, window_name))
            message = await manager.show_raw()
            destinations = _destinations(window, dialog_name, flows)
            keyboard = []
            if isinstance(message.reply_markup, InlineKeyboardMarkup):
                keyboard = [
                    [
                        PreviewButton(b.text, b.url or _leads_to(b.callback_data or "", destinations))
                        for b in row
                    ]
                    for row in message.reply_markup.inline_keyboard
                ]
            accepts = None
            if window.input is not None:
                accepts = kind_names(window.input.accept, compiled.texts, locale)
            rendered.append(
                PreviewWindow(
                    dialog=dialog_name,
                    window=window_name,
                    locale=locale,
                    text=message.text or "",
                    keyboard=keyboard,
                    media=_media(message.media),
                    accepts=accepts,
                )
            )
    return rendered


def _absolute(target: str, here: str, flows: schema.Flows) -> str:
    if target == "@home":
        return f"@home ({flows.start})"
    resolved = schema.resolve_target(target, here)
    return target if resolved is None else ".".join(resolved)


def _describe(transition: schema.Transition, here: str, flows: schema.Flows) -> str:
    targets = transition.targets()
    if transition.action is None:
        return f"→ {_absolute(targets.get('ok', '@stay'), here, flows)}"
    ordered = sorted(targets.items(), key=lambda item: item[0] != OK)
    outcomes = ", ".join(f"{o} → {_absolute(t, here, flows)}" for o, t in ordered) or "stay"
    return f"{transition.action}(): {outcomes}"


def _destinations(window: schema.Window, here: str, flows: schema.Flows) -> dict[str, str]:
    """Callback data (exact, or a prefix ending with ':') → where the button leads."""
    found = {b.widget_id: _describe(b, here, flows) for b in window.buttons() if b.url is None}
    for select in window.selects():
        found[f"{select.id}:"] = _describe(select, here, flows)
        found[f"{select_scroll_id(select.id)}:"] = "page"
    if window.scroll is not None:
        for pager_id in pager_ids(window.scroll.id):
            found[f"{pager_id}:"] = "page"
    return found


def _leads_to(raw_callback_data: str, destinations: Mapping[str, str]) -> str:
    _, callback_data = remove_intent_id(raw_callback_data)
    if callback_data in destinations:
        return destinations[callback_data]
    prefix = callback_data.split(":", 1)[0] + ":"
    return destinations.get(prefix, "")


def _media(media: MediaAttachment | None) -> PreviewMedia | None:
    if media is None:
        return None
    kind = ContentType(media.type).value
    if media.path:
        return PreviewMedia(kind, str(media.path), Path(media.path).name)
    if media.url:
        return PreviewMedia(kind, media.url, media.url)
    file_id = media.file_id.file_id if media.file_id else ""
    return PreviewMedia(kind, None, f"Telegram file {file_id}")


def render_graph(compiled: CompiledFlows, out_dir: Path) -> Path:
    """The flow graph as ``out_dir/flows.svg`` (needs Graphviz's ``dot``)."""
    return render_svg(compiled.flows, compiled.texts, out_dir / f"{GRAPH_NAME}.svg")


def render_html(windows: Mapping[str, Sequence[PreviewWindow]], flows: schema.Flows, out_dir: Path) -> str:
    """One page: a card per window, one column per locale (the default locale first)."""
    locales = sorted(windows, key=lambda loc: loc != flows.default_locale)
    by_address: dict[str, dict[str, PreviewWindow]] = {}
    for locale in locales:
        for window in windows[locale]:
            by_address.setdefault(window.address, {})[locale] = window
    cards = [
        {
            "address": address,
            "dialog": address.split(".")[0],
            "columns": [per[loc] for loc in locales if loc in per],
        }
        for address, per in by_address.items()
    ]
    env = Environment(autoescape=select_autoescape(default_for_string=True, default=True))
    env.filters["src"] = lambda media: _src(media, out_dir)
    return env.from_string(_TEMPLATE).render(
        cards=cards, locales=locales, start=flows.start, graph=f"{GRAPH_NAME}.svg"
    )


def _src(media: PreviewMedia, out_dir: Path) -> str | None:
    if media.src is None or media.src.startswith(("http://", "https://")):
        return media.src
    return os.path.relpath(media.src, out_dir.resolve())


async def write_preview(
    flows: schema.Flows,
    texts: TextCatalog,
    registry: HookRegistry,
    *,
    base_dir: Path,
    out_dir: Path,
) -> PreviewFiles:
    """Write ``index.html`` (every window, every locale) and ``flows.svg`` into ``out_dir``."""
    compiled = compile_flows(flows, registry, texts, base_dir=_absolute_dir(base_dir))
    windows = {locale: await render_windows(compiled, locale) for locale in flows.locales}
    return _write_files(compiled, windows, out_dir)


def _absolute_dir(path: Path) -> Path:
    return path.resolve()


def _write_files(
    compiled: CompiledFlows, windows: Mapping[str, Sequence[PreviewWindow]], out_dir: Path
) -> PreviewFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / "index.html"
    html.write_text(render_html(windows, compiled.flows, out_dir), encoding="utf-8")
    return PreviewFiles(html=html, graph=render_graph(compiled, out_dir))


_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ locales[0] }}">
<head>
<meta charset="utf-8">
<title>UGC Bot — windows preview</title>
<style>
  body { font-family: system-ui, sans-serif; background: #dfe7ee; margin: 0; padding: 16px; color: #222; }
  h1 { font-size: 20px; } h2 { font-size: 16px; margin: 28px 0 8px; }
  .card { background: #f5f7f9; border-radius: 12px; padding: 12px; margin: 12px 0; }
  .address { font-family: monospace; font-weight: bold; margin-bottom: 8px; }
  .columns { display: flex; gap: 16px; flex-wrap: wrap; }
  .locale { flex: 1 1 320px; max-width: 420px; }
  .tag { font-size: 12px; color: #666; text-transform: uppercase; }
  .bubble { background: #fff; border-radius: 12px; padding: 8px 12px; white-space: pre-wrap; }
  .bubble img { max-width: 100%; border-radius: 8px; display: block; margin-bottom: 6px; }
  .media { font-size: 13px; color: #555; margin-bottom: 6px; }
  .row { display: flex; gap: 4px; margin-top: 4px; }
  .button { flex: 1; background: #5b8bb5; color: #fff; border-radius: 8px; padding: 6px; text-align: center;
            font-size: 14px; }
  .button small { display: block; font-size: 11px; opacity: .85; font-family: monospace; }
  .input { font-size: 13px; color: #555; margin-top: 6px; }
</style>
</head>
<body>
<h1>UGC Bot — every window from its preview data</h1>
<p>Start: <code>{{ start }}</code> · locales: {{ locales | join(", ") }} ·
  <a href="{{ graph }}">flow graph</a></p>
{% for card in cards %}
{% if loop.first or card.dialog != cards[loop.index0 - 1].dialog %}<h2>{{ card.dialog }}</h2>{% endif %}
<div class="card" id="{{ card.address }}">
  <div class="address">{{ card.address }}</div>
  <div class="columns">
  {% for w in card.columns %}
    <div class="locale">
      <div class="tag">{{ w.locale }}</div>
      <div class="bubble">
        {%- if w.media %}{% set src = w.media | src %}
          {%- if w.media.kind == "photo" and src %}<img src="{{ src }}" alt="{{ w.media.label }}">
          {%- else %}<div class="media">[{{ w.media.kind }}] {{ w.media.label }}</div>{% endif %}
        {%- endif %}{{ w.text }}</div>
      {% for row in w.keyboard %}<div class="row">
        {% for b in row %}<div class="button" title="{{ b.leads_to }}">{{ b.text }}
          <small>{{ b.leads_to }}</small></div>{% endfor %}
      </div>{% endfor %}
      {% if w.accepts %}<div class="input">✍️ {{ w.accepts }}</div>{% endif %}
    </div>
  {% endfor %}
  </div>
</div>
{% endfor %}
</body>
</html>
"""
