"""``python -m app check-catalog [ROOT] [--flows PATH]``: every problem of the characters and voices."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from app.services.captions.style import CaptionStyleError, load_caption_styles
from app.services.catalog import Catalog
from app.services.catalog_files import CatalogError
from dialogs.errors import FlowErrors
from dialogs.loader import read_yaml


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app check-catalog",
        description="Check characters.yaml and voices.yaml with their portraits and samples; "
        "print each problem as PATH:LINE: message.",
    )
    parser.add_argument("root", nargs="?", type=Path, default=Path("catalog"), help="default: catalog")
    parser.add_argument(
        "--flows",
        type=Path,
        default=Path("flows.yaml"),
        help="the locales come from it (default: flows.yaml)",
    )
    args = parser.parse_args(argv)
    try:
        locales, default_locale = locales_of(args.flows)
    except FlowErrors as exc:
        print(f"{args.flows}: cannot read the locales:", file=sys.stderr)
        for problem in exc.errors:
            print(problem.format(), file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"{args.flows}: {exc}", file=sys.stderr)
        return 2
    return run(args.root, locales, default_locale)


def locales_of(flows: Path) -> tuple[list[str], str]:
    """The locales and the default locale ``flows`` declares (the rest of the file is not checked here)."""
    data, _ = read_yaml(flows)
    locales = data.get("locales") if isinstance(data, dict) else None
    if not isinstance(locales, list) or not locales:
        raise ValueError("no `locales:` list, so the names to require are unknown")
    default = data.get("default_locale") or locales[0]
    return [str(loc) for loc in locales], str(default)


def run(root: Path, locales: Sequence[str], default_locale: str, out: TextIO | None = None) -> int:
    """Check the catalog under ``root``; problems or a one-line summary go to ``out``; 0 when clean."""
    out = out or sys.stdout
    try:
        catalog = Catalog.load(root, locales, default_locale)
        styles = load_caption_styles(root / "captions.yaml")
    except (CatalogError, CaptionStyleError) as exc:
        for problem in str(exc).splitlines():
            print(problem, file=out)
        return 1
    characters, voices, captions = len(catalog.characters()), len(catalog.voices()), len(styles.names)
    print(f"{root}: OK — {characters} characters, {voices} voices, {captions} caption styles", file=out)
    return 0
