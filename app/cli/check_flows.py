"""``python -m app check-flows [PATH] [--against OLD.yaml] [--write-schema]``: all problems of flows.yaml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from dialogs.diff import diff_flows
from dialogs.errors import FlowError, FlowErrors
from dialogs.flowfile import check_flows_file
from dialogs.jsonschema import SCHEMA_FILE, write_schema
from dialogs.loader import load_flows
from dialogs.registry import HookRegistry


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app check-flows",
        description="Validate flows.yaml and its texts; print each problem as PATH:LINE: dialog.window: …",
    )
    parser.add_argument("path", nargs="?", type=Path, default=Path("flows.yaml"), help="default: flows.yaml")
    parser.add_argument(
        "--against",
        type=Path,
        metavar="OLD.yaml",
        help="warn about dialogs, windows and commands that OLD has and PATH lost",
    )
    parser.add_argument("--write-schema", action="store_true", help=f"regenerate {SCHEMA_FILE.name} first")
    args = parser.parse_args(argv)
    if args.write_schema:
        changed = write_schema()
        print(f"{SCHEMA_FILE}: {'updated' if changed else 'up to date'}")
    # Imported here so that tests of this module can pass registries of their own without the real hooks.
    from dialogs.hooks import build_registry  # noqa: PLC0415

    return run(args.path, build_registry(), against=args.against)


def run(
    path: Path,
    registry: HookRegistry,
    against: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Check ``path`` (and compare with ``against``); problems and a summary go to ``out``; 0 if no error."""
    out = out or sys.stdout
    err = err or sys.stderr
    result = check_flows_file(path, registry)
    problems = list(result.problems)
    if against is not None and result.loaded is not None:
        try:
            old = load_flows(against)
        except FlowErrors as exc:
            print(f"{against}: cannot compare, the old file does not load:", file=err)
            for problem in exc.errors:
                print(problem.format(), file=err)
            return 1
        problems += diff_flows(old, result.loaded)
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    for problem in errors + warnings:
        print(problem.format(), file=out)
    if errors:
        print(f"{path}: {_count(len(errors), 'error')}{_and_warnings(warnings)}", file=out)
        return 1
    flows = result.loaded.flows if result.loaded is not None else None
    if flows is None:  # unreachable: a file that does not load always has errors
        return 1
    summary = ", ".join(
        [
            _count(len(flows.dialogs), "dialog"),
            _count(len(flows.iter_windows()), "window"),
            _count(len(flows.commands), "command"),
            _count(len(flows.locales), "locale"),
        ]
    )
    print(f"{path}: OK — {summary}{_and_warnings(warnings)}", file=out)
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _and_warnings(warnings: list[FlowError]) -> str:
    return f", {_count(len(warnings), 'warning')}" if warnings else ""
