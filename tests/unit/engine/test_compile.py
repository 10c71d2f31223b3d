"""The compiled graph: state names, fresh objects per Dispatcher, native widgets, pager ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiogram_dialog import StartMode
from aiogram_dialog.widgets.kbd import Cancel, Start, SwitchTo

from dialogs.compile import CompiledFlows, CompileError, compile_flows
from dialogs.i18n import TextCatalog
from dialogs.preview import stub_registry
from tests.integration.engine.harness import load_flows

FLOWS = """
version: 1
start: main.menu
locales: [en]
default_locale: en
commands:
  - {command: start, description: cmd.start, next: main.menu}
dialogs:
  main:
    windows:
      menu:
        text: t.menu
        keyboard:
          - {text: b.shop, next: shop.list}
          - {text: b.close, next: "@done"}
          - {text: b.buy, id: buy, action: buy, next: shop.list, on: {poor: "@home", later: "@stay"}}
  shop:
    windows:
      list:
        text: t.list
        scroll: {id: gal, pages: pages}
        keyboard:
          - pager: gal
          - {text: b.close, next: "@done"}
          - {text: b.menu, next: main.menu}
"""
TEXTS = TextCatalog({"en": {"cmd.start": "Begin"}}, "en")


def compile_(source: str = FLOWS) -> CompiledFlows:
    flows = load_flows(source)
    return compile_flows(flows, stub_registry(flows), TEXTS, base_dir=Path("."))


def test_states_read_like_the_yaml_addresses() -> None:
    compiled = compile_()
    assert compiled.state("main", "menu").state == "main:menu"
    assert compiled.start_state is compiled.state("main", "menu")
    assert [s.state for s in compiled.states["shop"].__states__] == ["shop:list"]
    with pytest.raises(KeyError):
        compiled.state("shop", "gone")


def test_every_compile_is_fresh() -> None:
    first, second = compile_(), compile_()
    assert first.router is not second.router
    assert first.states["main"] is not second.states["main"]
    assert not set(map(id, first.dialogs)) & set(map(id, second.dialogs))


def test_plain_transitions_are_native_widgets_for_the_diagram() -> None:
    compiled = compile_()
    menu = compiled.dialogs[0].windows[compiled.state("main", "menu")]
    shop = menu.find("b_shop")
    assert isinstance(shop, Start) and shop.state == compiled.state("shop", "list")
    close_in_start_dialog = menu.find("b_close")  # @done at the bottom of the stack means @home
    assert isinstance(close_in_start_dialog, Start) and close_in_start_dialog.mode is StartMode.RESET_STACK
    shop_window = compiled.dialogs[1].windows[compiled.state("shop", "list")]
    assert isinstance(shop_window.find("b_close"), Cancel)
    assert isinstance(shop_window.find("b_menu"), Start)


def test_action_outcomes_are_declared_to_the_diagram() -> None:
    compiled = compile_()
    menu = compiled.dialogs[0].windows[compiled.state("main", "menu")]
    states = {w.state for w in menu.preview_add_transitions if isinstance(w, Start | SwitchTo)}
    assert states == {compiled.state("shop", "list"), compiled.start_state}  # @stay draws no edge


def test_pager_buttons_have_the_ids_the_validator_measures() -> None:
    compiled = compile_()
    shop = compiled.dialogs[1].windows[compiled.state("shop", "list")]
    for widget_id in ("gal", "gal_prev", "gal_cur", "gal_next"):
        assert shop.find(widget_id) is not None, widget_id


def test_pager_without_its_scroll_is_a_compile_error() -> None:
    broken = FLOWS.replace("        scroll: {id: gal, pages: pages}\n", "")
    with pytest.raises(CompileError, match="gal"):
        compile_(broken)


def test_bot_commands_use_texts() -> None:
    assert [(c.command, c.description) for c in compile_().bot_commands("en")] == [("start", "Begin")]
