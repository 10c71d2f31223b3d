"""The flow graph an editor looks at: every declared transition is an arrow labelled with its button text."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.graph import COMMANDS_NODE, edges, render_svg, to_dot
from dialogs.i18n import TextCatalog
from dialogs.loader import load_flows
from dialogs.schema import Flows

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def real() -> tuple[Flows, TextCatalog]:
    # The app's loader: YAML 1.2 booleans, so the key ``on:`` stays the word (safe_load reads it as True).
    flows = load_flows(ROOT / "flows.yaml").flows
    texts = TextCatalog.load(ROOT / flows.texts, flows.locales, flows.default_locale)
    return flows, texts


def test_buttons_commands_and_action_outcomes_become_labelled_arrows(real: tuple[Flows, TextCatalog]) -> None:
    flows, texts = real
    found = {(e.source, e.target, e.label) for e in edges(flows, texts)}

    assert ("main.menu", "faq.list", texts.get("ru", "menu.faq")) in found
    assert ("faq.list", "faq.answer", "[faq_q: pick]") in found
    assert (COMMANDS_NODE, "main.menu", "/start\nregister_user() → ok") in found
    assert (
        "language.choose",
        "language.@done",
        f"{texts.get('ru', 'language.en')}\nset_language() → ok",
    ) in found


def test_every_window_but_the_start_has_an_arrow_into_it(real: tuple[Flows, TextCatalog]) -> None:
    flows, texts = real
    targets = {e.target for e in edges(flows, texts)}
    windows = {f"{d}.{w}" for d, w, _ in flows.iter_windows()}
    assert windows - targets == set()


def test_quotes_and_newlines_in_labels_do_not_break_the_dot_source(real: tuple[Flows, TextCatalog]) -> None:
    flows, _ = real
    texts = TextCatalog({"ru": {"menu.faq": 'say "hi"\\ now'}, "en": {}}, "ru")
    dot = to_dot(flows, texts)
    assert '"say \\"hi\\"\\\\ now"' in dot


def test_graphviz_draws_it(real: tuple[Flows, TextCatalog], tmp_path: Path) -> None:
    flows, texts = real
    svg = render_svg(flows, texts, tmp_path / "flows.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "faq" in svg and "register_user()" in svg
