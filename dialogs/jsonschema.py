"""The JSON Schema of flows.yaml, generated from the models so editors autocomplete and check the file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from dialogs.schema import Flows

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "flows.schema.json"
REGENERATE = "python -m app check-flows --write-schema"


def flows_json_schema() -> dict[str, Any]:
    """``Flows.model_json_schema()`` with the headers an editor shows."""
    generated = Flows.model_json_schema()
    generated.pop("title", None)
    generated.pop("description", None)
    return {
        # VS Code's YAML extension validates with draft-07; pydantic's output uses nothing newer ("$defs" is
        # reached through plain JSON pointers), so declaring draft-07 keeps editors from refusing the schema.
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "UGC Bot flows.yaml",
        "description": (
            "The whole user flow: dialogs, windows, texts (locale keys), keyboards, inputs and transitions. "
            f"Generated from dialogs/schema.py by `{REGENERATE}`; do not edit by hand."
        ),
        **generated,
    }


def render_schema() -> str:
    """The schema as the checked-in file holds it: pretty JSON with a trailing newline."""
    return json.dumps(flows_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_FILE) -> bool:
    """Rewrite ``path`` with the current schema; True if its content changed."""
    text = render_schema()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


if __name__ == "__main__":
    changed = write_schema()
    print(f"{SCHEMA_FILE}: {'updated' if changed else 'up to date'}")
    sys.exit(0)
