"""``python -m app check-flows``: each problem as PATH:LINE: dialog.window: message, exit 1; or a summary."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from app.cli.check_flows import main, run
from dialogs.errors import FlowErrors
from dialogs.flowfile import load_validated
from tests.conftest import ROOT
from tests.unit.flows.builders import line_with, registry, write_flows

CLEAN = """\
version: 1
start: main.menu
locales: [ru, en]
default_locale: ru
texts: texts
commands:
  - {command: help, description: commands.help, next: main.help}
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: menu.help, next: help}
      help:
        text: help.text
        keyboard:
          - {text: common.back, next: "@back"}
"""

PROBLEM_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<where>[-\w.]+): (?P<message>.+)$")


def run_cli(path: Path, against: Path | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(path, registry(), against=against, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_clean_file_prints_one_summary_line_and_exits_0(tmp_path: Path) -> None:
    path = write_flows(tmp_path, CLEAN)
    assert run_cli(path) == (0, f"{path}: OK — 1 dialog, 2 windows, 1 command, 2 locales\n", "")


def test_every_problem_is_printed_and_the_exit_code_is_1(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        CLEAN.replace("next: help}", "next: hlep}").replace(
            "next: main.help}", "next: main.help, action: x}"
        ),
        without={"en": ["help.text"]},
    )
    code, out, err = run_cli(path)
    assert (code, err) == (1, "")
    *lines, summary = out.splitlines()
    assert summary == f"{path}: 3 errors"
    assert lines == [
        f"{path}:{line_with(path, 'action: x')}: -: no action named 'x' is registered",
        f"{path}:{line_with(path, 'hlep')}: main.menu: "
        "target 'hlep': no window 'hlep' in dialog 'main' (did you mean 'help'?)",
        f"{path}:{line_with(path, 'help.text')}: main.help: text 'help.text' is missing in locale 'en' "
        f"({tmp_path / 'texts' / 'en.yaml'})",
    ]
    assert all(PROBLEM_LINE.match(line) for line in lines)


def test_malformed_yaml_is_one_problem_line(tmp_path: Path) -> None:
    path = tmp_path / "flows.yaml"
    path.write_text("version: 1\ndialogs: [unclosed\n", encoding="utf-8")
    code, out, _ = run_cli(path)
    assert code == 1
    line, summary = out.splitlines()
    assert summary == f"{path}: 1 error"
    match = PROBLEM_LINE.match(line)
    assert match is not None
    assert (match["path"], match["where"]) == (str(path), "-")
    assert match["message"].startswith("malformed YAML")


def test_against_lists_removed_windows_as_warnings_and_still_exits_0(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(
        CLEAN.replace("      help:\n", "      about:\n        text: help.text\n      help:\n"), "utf-8"
    )
    path = write_flows(tmp_path, CLEAN)
    code, out, err = run_cli(path, against=old)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{old}:{line_with(old, 'about:')}: main.about: warning: window removed: "
        "users on it will be sent to the start window (main.menu)",
        f"{path}: OK — 1 dialog, 2 windows, 1 command, 2 locales, 1 warning",
    ]


def test_against_a_file_that_does_not_load_fails(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("version: [\n", encoding="utf-8")
    code, out, err = run_cli(write_flows(tmp_path, CLEAN), against=old)
    assert (code, out) == (1, "")
    assert err.startswith(f"{old}: cannot compare, the old file does not load:\n{old}:")


def test_load_validated_raises_every_error_for_the_runtime(tmp_path: Path) -> None:
    path = write_flows(tmp_path, CLEAN.replace("next: help}", "next: hlep}").replace("@back", "nowhere"))
    with pytest.raises(FlowErrors) as caught:
        load_validated(path, registry())
    assert [e.line for e in caught.value.errors] == [line_with(path, "hlep"), line_with(path, "nowhere")]
    loaded, texts = load_validated(write_flows(tmp_path, CLEAN), registry())
    assert loaded.flows.start == "main.menu"
    assert texts.has("en", "help.text")


def test_real_flows_yaml_passes_with_the_real_hooks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ROOT / "flows.yaml")]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(r".*flows\.yaml: OK — \d+ dialogs, \d+ windows, \d+ commands, \d+ locales\n", out)


def test_app_entry_point_runs_check_flows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from app.__main__ import main as app_main

    broken = tmp_path / "flows.yaml"
    broken.write_text("version: 1\n", encoding="utf-8")
    assert app_main(["check-flows", str(broken)]) == 1
    out = capsys.readouterr().out
    assert f"{broken}:1: -: the file needs 'start'" in out
