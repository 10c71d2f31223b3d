"""``python -m app preview [PATH] [--out docs/preview]``: every window as HTML and the flow graph as SVG."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

from dialogs.errors import FlowErrors


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app preview",
        description="Render every window from its preview data (HTML) and the flow graph (SVG).",
    )
    parser.add_argument("path", nargs="?", type=Path, default=Path("flows.yaml"), help="default: flows.yaml")
    parser.add_argument("--out", type=Path, default=Path("docs/preview"), help="default: docs/preview")
    args = parser.parse_args(argv)
    if shutil.which("dot") is None:
        print("Graphviz's `dot` is needed for the flow graph: apt-get install graphviz", file=sys.stderr)
        return 1
    # Imported here so that `python -m app --help` does not load every hook and the preview tooling.
    from dialogs.flowfile import load_validated  # noqa: PLC0415
    from dialogs.hooks import build_registry  # noqa: PLC0415
    from dialogs.preview import write_preview  # noqa: PLC0415

    registry = build_registry()
    try:
        loaded, texts = load_validated(args.path, registry)
    except FlowErrors as exc:
        for problem in exc.errors:
            print(problem.format(), file=sys.stderr)
        print(f"{args.path}: fix these first (python -m app check-flows)", file=sys.stderr)
        return 1
    files = asyncio.run(
        write_preview(loaded.flows, texts, registry, base_dir=args.path.resolve().parent, out_dir=args.out)
    )
    print(f"windows: {files.html}\nflow graph: {files.graph}")
    return 0
