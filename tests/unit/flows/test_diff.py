"""Comparing two versions: what a change does to users whose saved state names the old dialogs and windows."""

from __future__ import annotations

from pathlib import Path

from dialogs.diff import diff_flows
from dialogs.errors import (
    ChangedStart,
    FlowError,
    RemovedCommand,
    RemovedDialog,
    RemovedLocale,
    RemovedWindow,
    RenamedWindow,
)
from dialogs.loader import LoadedFlows, load_flows
from tests.unit.flows.builders import flows_source, line_with

OLD = """\
version: 1
start: main.menu
locales: [ru, en]
default_locale: ru
commands:
  - {command: help, description: commands.help, next: main.help}
  - {command: faq, description: commands.faq, next: faq.list}
dialogs:
  main:
    windows:
      menu:
        text: menu.text
      help:
        text: help.text
      about:
        text: about.text
  faq:
    windows:
      list: {text: faq.title}
      answer: {text: faq.answer}
  shop:
    windows:
      cart: {text: shop.cart}
"""


def load(folder: Path, name: str, source: str) -> LoadedFlows:
    path = folder / name
    path.write_text(flows_source(source), encoding="utf-8")
    return load_flows(path)


def diff(tmp_path: Path, new_source: str) -> tuple[LoadedFlows, LoadedFlows, list[FlowError]]:
    old, new = load(tmp_path, "old.yaml", OLD), load(tmp_path, "new.yaml", new_source)
    return old, new, diff_flows(old, new)


def test_identical_versions_have_nothing_to_say(tmp_path: Path) -> None:
    assert diff(tmp_path, OLD)[2] == []


def test_removed_window_points_into_the_old_file(tmp_path: Path) -> None:
    old, _, warnings = diff(tmp_path, OLD.replace("      about:\n        text: about.text\n", ""))
    [warning] = warnings
    assert isinstance(warning, RemovedWindow)
    assert (warning.file, warning.line, warning.location) == (
        old.path,
        line_with(old.path, "about:"),
        "main.about",
    )
    assert warning.severity == "warning"
    assert warning.format() == (
        f"{old.path}:{warning.line}: main.about: warning: window removed: "
        "users on it will be sent to the start window (main.menu)"
    )


def test_window_with_the_same_texts_under_a_new_name_looks_renamed(tmp_path: Path) -> None:
    old, new, warnings = diff(tmp_path, OLD.replace("help:\n", "guide:\n"))
    [warning] = warnings
    assert isinstance(warning, RenamedWindow)
    assert (warning.file, warning.line, warning.location) == (
        old.path,
        line_with(old.path, "help:"),
        "main.help",
    )
    assert warning.message == (
        f"window renamed to 'guide' ({new.path}:{line_with(new.path, 'guide:')})? "
        "users on the old name will be sent to the start window (main.menu)"
    )


def test_removed_and_renamed_dialogs(tmp_path: Path) -> None:
    new_source = OLD.replace("  faq:\n", "  questions:\n").replace(
        "  shop:\n    windows:\n      cart: {text: shop.cart}\n", ""
    )
    old, _, warnings = diff(tmp_path, new_source)
    assert [(type(w), w.line, w.location) for w in warnings] == [
        (RenamedWindow, line_with(old.path, "faq:"), "faq"),
        (RemovedDialog, line_with(old.path, "shop:"), "shop"),
    ]
    assert warnings[0].message.startswith("dialog renamed to 'questions'")
    assert (
        warnings[1].message
        == "dialog removed with its 1 window: users inside it will be sent to the start window (main.menu)"
    )


def test_changed_start_points_into_the_new_file(tmp_path: Path) -> None:
    _, new, warnings = diff(tmp_path, OLD.replace("start: main.menu", "start: faq.list"))
    [warning] = warnings
    assert isinstance(warning, ChangedStart)
    assert (warning.file, warning.line) == (new.path, 2)
    assert warning.message == "start changed from main.menu to faq.list: /start and @home now open faq.list"


def test_removed_command_and_locale(tmp_path: Path) -> None:
    new_source = OLD.replace("  - {command: faq, description: commands.faq, next: faq.list}\n", "").replace(
        "[ru, en]", "[ru]"
    )
    old, _, warnings = diff(tmp_path, new_source)
    assert [(type(w), w.file, w.line) for w in warnings] == [
        (RemovedCommand, old.path, line_with(old.path, "command: faq")),
        (RemovedLocale, old.path, 3),
    ]
    assert warnings[0].message.startswith("command /faq removed")
    assert warnings[1].message == "locale 'en' removed: its users fall back to 'ru'"
