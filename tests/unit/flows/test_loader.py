"""Stage one: the file is YAML and fits the models; every problem comes back at once with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.errors import (
    DuplicateKey,
    FlowError,
    FlowErrors,
    SchemaViolation,
    UnreadableFile,
    YamlSyntaxError,
)
from dialogs.loader import load_flows
from tests.unit.flows.builders import flows_source, line_with

HEAD = """\
version: 1
start: main.menu
locales: [en]
default_locale: en
texts: texts
"""


def write(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "flows.yaml"
    path.write_text(flows_source(source), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[FlowError]:
    with pytest.raises(FlowErrors) as caught:
        load_flows(path)
    return caught.value.errors


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: menu.go, next: menu
""",
    )
    [problem] = problems_of(path)
    assert isinstance(problem, YamlSyntaxError)
    assert problem.format().startswith(f"{path}:")
    assert problem.message.startswith("malformed YAML")
    assert problem.line >= line_with(path, "menu.go")


def test_repeated_window_key_is_reported_not_silently_dropped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
      menu:
        text: menu.other
""",
    )
    [problem] = problems_of(path)
    assert isinstance(problem, DuplicateKey)
    assert (problem.line, problem.dialog, problem.window) == (line_with(path, "menu:", 2), "main", "menu")
    assert problem.message == f"duplicate key 'menu' (first at line {line_with(path, 'menu:')})"


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: menu.go, nxt: menu}
""",
    )
    [problem] = problems_of(path)
    assert isinstance(problem, SchemaViolation)
    assert problem.format() == (
        f"{path}:{line_with(path, 'nxt:')}: main.menu: unknown key 'nxt' (did you mean 'next'?)"
    )


def test_target_with_bad_syntax_says_what_a_target_is(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - [{text: menu.a, next: menu}, {text: menu.b, next: Main Menu}]
""",
    )
    [problem] = problems_of(path)
    assert problem.line == line_with(path, "Main Menu")
    assert problem.message == (
        "'next' must be a window, dialog.window or @back/@done/@home/@stay (got 'Main Menu')"
    )


def test_button_without_transition_is_explained(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - text: menu.go
""",
    )
    [problem] = problems_of(path)
    assert (problem.line, problem.window) == (line_with(path, "text: menu.go"), "menu")
    assert problem.message == "a button needs 'next', 'action' or 'url'"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "{select: {id: q, items: questions, text: faq.q, colums: 2}}",
            "unknown key 'colums' (did you mean 'columns'?)",
        ),
        ("{pager: pages, wen: more}", "unknown key 'wen' (did you mean 'when'?)"),
        (
            "{text: menu.go, next: menu, colour: red}",
            "unknown key 'colour' (allowed: action, args, next, on, text, id, url, when)",
        ),
        (
            "just text",
            "an entry of 'keyboard' must be a list of buttons, a select row, a pager row or a button "
            "(got 'just text')",
        ),
    ],
)
def test_keyboard_row_gets_one_message_for_the_row_kind_meant(tmp_path: Path, row: str, message: str) -> None:
    path = write(
        tmp_path,
        HEAD
        + f"""\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - {row}
""",
    )
    assert [p.message for p in problems_of(path)] == [message]


def test_yaml_boolean_in_place_of_a_window_gets_a_quoting_hint(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: menu.go, next: yes}
""",
    )
    [problem] = problems_of(path)
    assert "'next' must be text (got true)" in problem.message
    assert "quote it" in problem.message


def test_on_key_is_read_as_a_word_not_a_boolean(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - text: menu.pay
            action: pay
            next: menu
            on: {no_money: "@stay"}
""",
    )
    loaded = load_flows(path)
    [button] = loaded.flows.dialogs["main"].windows["menu"].buttons()
    assert button.on == {"no_money": "@stay"}
    assert loaded.source.line_of(("dialogs", "main", "windows", "menu", "keyboard", 0, "on")) == line_with(
        path, "on: {"
    )


def test_command_problem_names_the_command(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
commands:
  - {command: start, description: commands.start, nxt: main.menu}
dialogs:
  main:
    windows:
      menu: {text: menu.text}
""",
    )
    [problem] = problems_of(path)
    assert problem.format() == (
        f"{path}:{line_with(path, 'nxt')}: -: command /start: unknown key 'nxt' (did you mean 'next'?)"
    )


def test_every_schema_problem_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
version: 1
start: main.menu
locales: [en]
default_locale: en
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        media: {kind: gif, path: a.gif}
        keyboard:
          - {text: menu.go, nxt: menu}
        input: {accept: [text], action: save, on: {Bad-Name: menu}}
      menu:
        text: again
""",
    )
    problems = problems_of(path)
    assert [(p.line, type(p)) for p in problems] == [
        (line_with(path, "kind: gif"), SchemaViolation),
        (line_with(path, "nxt"), SchemaViolation),
        (line_with(path, "Bad-Name"), SchemaViolation),
        (line_with(path, "menu:", 2), DuplicateKey),
    ]
    assert "'kind' must be 'photo', 'video', 'audio', 'voice', 'document' or 'animation' (got 'gif')" in (
        problems[0].message
    )
    assert problems[2].message.startswith("key 'Bad-Name' in 'on' must be lower_snake_case")


def test_missing_required_key_points_at_its_parent(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
version: 1
locales: [en]
default_locale: en
dialogs:
  main:
    windows:
      menu:
        keyboard: []
""",
    )
    problems = problems_of(path)
    assert [(p.line, p.location, p.message) for p in problems] == [
        (1, "-", "the file needs 'start'"),
        (line_with(path, "menu:"), "main.menu", "a window needs 'text'"),
    ]


def test_anchors_and_merge_keys_are_resolved(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - &back {text: common.back, next: "@done"}
      help:
        text: help.text
        keyboard:
          - *back
          - {<<: *back, text: common.close}
""",
    )
    buttons = load_flows(path).flows.dialogs["main"].windows["help"].buttons()
    assert [(b.text, b.next) for b in buttons] == [("common.back", "@done"), ("common.close", "@done")]


def test_empty_and_missing_files_are_reported(tmp_path: Path) -> None:
    empty = write(tmp_path, "# nothing yet\n")
    [problem] = problems_of(empty)
    assert (type(problem), problem.line, problem.message) == (SchemaViolation, 1, "the file is empty")
    [problem] = problems_of(tmp_path / "absent.yaml")
    assert isinstance(problem, UnreadableFile)
    assert "No such file" in problem.message


def test_top_level_that_is_not_a_mapping(tmp_path: Path) -> None:
    [problem] = problems_of(write(tmp_path, "- just\n- a list\n"))
    assert (
        problem.message
        == "the file must be a mapping with version, start, locales, default_locale and dialogs"
    )


def test_source_map_falls_back_to_the_nearest_ancestor(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - [{text: menu.a, next: menu}, {text: menu.b, next: menu}]
""",
    )
    source = load_flows(path).source
    row = ("dialogs", "main", "windows", "menu", "keyboard", 0)
    assert source.line_of((*row, 1, "next")) == line_with(path, "menu.b")
    assert source.line_of((*row, 1, "id")) == line_with(path, "menu.b")  # no 'id' written: the button's line
    assert source.line_of(("dialogs", "main", "windows", "nowhere")) == line_with(path, "windows:")
    assert source.line_of(()) == 1


def test_error_format_uses_dash_without_dialog_and_dialog_alone_without_window() -> None:
    file = Path("flows.yaml")
    assert FlowError(file, 3, "boom").format() == "flows.yaml:3: -: boom"
    assert FlowError(file, 4, "boom", "main").format() == "flows.yaml:4: main: boom"
    assert FlowError(file, 5, "boom", "main", "menu").format() == "flows.yaml:5: main.menu: boom"
    errors = FlowErrors([FlowError(file, 3, "a"), FlowError(file, 4, "b", "main")])
    assert str(errors) == "flows.yaml:3: -: a\nflows.yaml:4: main: b"
