"""`when:` conditions decide what a user sees; a missing field hides instead of breaking the window."""

from __future__ import annotations

import pytest

from dialogs.conditions import holds, lookup, when

DATA = {
    "vip": True,
    "empty": [],
    "profile": {"admin": False, "tags": ["a", "b"], "name": "Ann"},
    "dialog_data": {"format": "talking_head"},
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("vip", True),
        ("profile.name", "Ann"),
        ("profile.tags.1", "b"),
        ("profile.tags.5", None),
        ("profile.missing.deeper", None),
        ("profile.name.upper", None),
        ("nothing", None),
    ],
)
def test_lookup_walks_dotted_paths(path: str, value: object) -> None:
    assert lookup(DATA, path) == value


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("vip", True),
        ("!vip", False),
        ("empty", False),
        ("!empty", True),
        ("profile.admin", False),
        ("!profile.admin", True),
        ("dialog_data.format", True),
        ("missing", False),
        ("!missing", True),
    ],
)
def test_holds(condition: str, expected: bool) -> None:
    assert holds(condition, DATA) is expected


def test_when_builds_an_aiogram_dialog_predicate() -> None:
    assert when(None) is None
    predicate = when("!vip")
    assert predicate is not None
    assert predicate({"vip": False}, None, None) is True
