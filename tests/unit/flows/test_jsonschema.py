"""The checked-in JSON Schema of flows.yaml matches the models and accepts the real flow."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from dialogs.jsonschema import REGENERATE, SCHEMA_FILE, flows_json_schema, render_schema, write_schema
from dialogs.loader import read_yaml
from tests.conftest import ROOT


def test_checked_in_schema_matches_the_models() -> None:
    checked_in = SCHEMA_FILE.read_text(encoding="utf-8")
    assert checked_in == render_schema(), f"{SCHEMA_FILE} is stale: run `{REGENERATE}`"


def test_editors_find_the_schema_from_flows_yaml() -> None:
    first_line = (ROOT / "flows.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./docs/flows.schema.json"
    assert SCHEMA_FILE == ROOT / "docs" / "flows.schema.json"


def test_real_flows_yaml_is_valid_against_the_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    data, _ = read_yaml(ROOT / "flows.yaml")
    assert [e.message for e in validator(schema).iter_errors(data)] == []


def test_schema_flags_a_misspelt_key_like_an_editor_would() -> None:
    schema = flows_json_schema()
    flows = {
        "version": 1,
        "start": "main.menu",
        "locales": ["en"],
        "default_locale": "en",
        "dialogs": {
            "main": {"windows": {"menu": {"text": "menu.text", "keyboard": [{"text": "a.b", "nxt": "x"}]}}}
        },
    }
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(flows))
    assert errors, "a button with 'nxt' must not validate"
    assert flows_json_schema()["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_write_schema_reports_whether_it_changed_the_file(tmp_path: Path) -> None:
    target = tmp_path / "docs" / "flows.schema.json"
    assert write_schema(target) is True
    assert target.read_text(encoding="utf-8").endswith("}\n")
    assert write_schema(target) is False
    target.write_text("{}\n", encoding="utf-8")
    assert write_schema(target) is True
    assert json.loads(target.read_text(encoding="utf-8"))["title"] == "UGC Bot flows.yaml"
