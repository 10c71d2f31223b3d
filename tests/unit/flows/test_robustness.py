"""Whatever an editor does to flows.yaml, check-flows answers with file:line problems, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs.flowfile import check_flows_file
from dialogs.loader import load_flows
from dialogs.registry import HookRegistry
from tests.conftest import ROOT
from tests.unit.flows.builders import registry

REAL = (ROOT / "flows.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
NOISE = st.sampled_from([":", "-", "[", "]", "{", "}", "@", " ", "  ", "x", ".", "'", '"', "&a", "*a", "\t"])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("edits")
    (folder / "catalog").symlink_to(ROOT / "catalog")
    return folder


@pytest.fixture(scope="module")
def hooks() -> HookRegistry:
    """No-op hooks under every name the real flow uses, so only the edit can cause problems."""
    flows = load_flows(ROOT / "flows.yaml").flows
    getters = {d.getter for d in flows.dialogs.values()} | {w.getter for _, _, w in flows.iter_windows()}
    transitions = [
        t for _, _, w in flows.iter_windows() for t in (*w.buttons(), *w.selects(), *filter(None, [w.input]))
    ]
    outcomes: dict[str, set[str]] = {}
    for transition in [*transitions, *flows.commands]:
        if transition.action:
            outcomes.setdefault(transition.action, set()).update(transition.on)
    actions = {name: tuple(sorted(names)) for name, names in outcomes.items()}
    return registry(getters=sorted(filter(None, getters)), actions=actions)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edit=st.tuples(
        st.integers(min_value=0, max_value=len(REAL) - 1),  # line
        st.integers(min_value=0, max_value=60),  # column
        NOISE,
        st.booleans(),  # drop the whole line instead
    )
)
def test_an_edited_flows_file_gets_located_problems_or_passes(
    folder: Path, hooks: HookRegistry, edit: tuple[int, int, str, bool]
) -> None:
    line, column, noise, cut = edit
    edited = list(REAL)
    text = edited[line]
    edited[line] = "" if cut else text[:column] + noise + text[column + 1 :]
    path = folder / "flows.yaml"
    source = "".join(edited)
    path.write_text(source, encoding="utf-8")
    result = check_flows_file(path, hooks)
    for problem in result.problems:
        assert problem.message
        if problem.file == path:
            # Counted in the written file: noise put after a line's newline makes a line of its own.
            assert 1 <= problem.line <= max(1, len(source.splitlines()))
    assert result.ok == (result.errors == [])


def test_the_unedited_real_flow_passes_with_these_hooks(folder: Path, hooks: HookRegistry) -> None:
    path = folder / "flows.yaml"
    path.write_text("".join(REAL), encoding="utf-8")
    assert check_flows_file(path, hooks).problems == []
