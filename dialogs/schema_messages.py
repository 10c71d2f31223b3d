"""Pydantic's validation errors for flows.yaml rewritten as plain sentences, one per real problem.

Pydantic reports a failed union once per member (a keyboard row gets errors as a list, a select row, a pager
row and a button). Only the member the author most plausibly meant is kept, picked from the data itself.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

import pydantic
from pydantic import BaseModel

from dialogs import schema
from dialogs.schema import Flows

NodePath = tuple[str | int, ...]

_PATTERN_HINTS = {
    schema.TARGET_PATTERN: "a window, dialog.window or @back/@done/@home/@stay",
    schema.NAME_PATTERN: "lower_snake_case (a-z, 0-9 and _, starting with a letter)",
    schema.TEXT_KEY_PATTERN: "a text key like 'menu.create'",
    schema.CONDITION_PATTERN: "a data field like 'has_history' or '!has_history'",
    schema.WIDGET_ID_PATTERN: "letters, digits, '_' and '.'",
}
_PATTERN_NOUNS = {
    schema.TARGET_PATTERN: "a target",
    schema.NAME_PATTERN: "a name",
    schema.TEXT_KEY_PATTERN: "a text key",
    schema.CONDITION_PATTERN: "a condition",
}
_NOUNS: dict[type[BaseModel], str] = {
    schema.Flows: "the file",
    schema.Dialog: "a dialog",
    schema.Window: "a window",
    schema.Button: "a button",
    schema.Select: "a select",
    schema.SelectRow: "a select row",
    schema.PagerRow: "a pager row",
    schema.Input: "an input",
    schema.Media: "media",
    schema.Scroll: "a scroll",
    schema.TextLine: "a text line {key: …, when: …}",
    schema.Command: "a command",
}
_TYPE_WORDS = {
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "less_than_equal": ("le", "at most"),
    "greater_than": ("gt", "more than"),
    "less_than": ("lt", "less than"),
}


@dataclass
class _Walk:
    """Where one pydantic error lands in the data."""

    path: list[str | int]
    owner: type[BaseModel] | None = None
    field: str | None = None
    dict_key: str | None = None
    key_error: bool = False
    value: Any = None
    no_member: tuple[Any, ...] | None = None


def explain(exc: pydantic.ValidationError, data: Any) -> list[tuple[NodePath, str]]:
    """(node path, plain message) for each problem, with union noise collapsed; duplicates dropped."""
    out: dict[tuple[NodePath, str], None] = {}
    for error in exc.errors(include_url=False):
        walk = _walk(error["loc"], data)
        if walk is None:
            continue
        message = _message(error, walk)
        command = _command_name(walk.path, data)
        if command is not None:
            message = f"command /{command}: {message}"
        out[(tuple(walk.path), message)] = None
    if not out:  # never hide a failure, even if every error looked like union noise
        out = {(tuple(e["loc"]), f"{e['msg']} at {'.'.join(map(str, e['loc']))}"): None for e in exc.errors()}
    return list(out)


def _walk(loc: tuple[str | int, ...], data: Any) -> _Walk | None:
    """Follow ``loc`` through the model types and the data; None if the error is about an unlikely member."""
    walk = _Walk(path=[], value=data)
    tp: Any = Flows
    parts = list(loc)
    i = 0
    while i < len(parts):
        part = parts[i]
        tp = _strip(tp)
        if _is_union(tp):
            # pydantic wraps `X | None` as a nullable X: no member tag in the location for the None part.
            members = tuple(m for m in get_args(tp) if m is not type(None))
            if len(members) == 1:
                tp = members[0]
                continue
            chosen = _plausible(members, walk.value)
            if chosen is None:
                walk.no_member = members
                return walk
            member = _member_for_tag(members, str(part))
            if member is not None and member != chosen:
                return None
            # An unrecognised tag keeps its error: a noisy message beats a silently dropped one.
            tp = members[chosen]
            i += 1
            continue
        if part == "[key]":
            walk.key_error = True
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            walk.owner, walk.field, walk.dict_key = tp, str(part), None
            info = tp.model_fields.get(str(part))
            tp = info.annotation if info is not None else Any
            walk.value = walk.value.get(part) if isinstance(walk.value, dict) else None
            walk.path.append(part)
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
            walk.dict_key = str(part)
            walk.value = walk.value.get(part) if isinstance(walk.value, dict) else None
            walk.path.append(part)
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
            ok = isinstance(walk.value, list) and isinstance(part, int) and part < len(walk.value)
            walk.value = walk.value[part] if ok else None
            walk.path.append(part)
        else:
            tp = Any
            walk.path.append(part)
        i += 1
    return walk


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _plausible(members: tuple[Any, ...], value: Any) -> int | None:
    """Index of the union member the author most likely meant for ``value``."""
    stripped = [_strip(m) for m in members]
    if isinstance(value, dict):
        return _plausible_mapping(stripped, value)
    wanted: tuple[Any, ...] = ()
    if isinstance(value, list):
        wanted = (list,)
    elif isinstance(value, bool):
        wanted = (bool,)
    elif isinstance(value, str):
        wanted = (str,)
    elif isinstance(value, int):
        wanted = (int, float)
    elif isinstance(value, float):
        wanted = (float,)
    elif value is None:
        wanted = (type(None),)
    for kind in wanted:
        for i, member in enumerate(stripped):
            if member is kind or get_origin(member) is kind:
                return i
    return None


def _plausible_mapping(stripped: list[Any], value: dict[str, Any]) -> int | None:
    models = [i for i, m in enumerate(stripped) if _is_model(m)]
    if not models:
        return next((i for i, m in enumerate(stripped) if get_origin(m) is dict), None)
    # The smallest model whose required keys are all present wins: {select: …, text: …} is a select row.
    for i in sorted(models, key=lambda i: _size(stripped[i])):
        required = {n for n, f in stripped[i].model_fields.items() if f.is_required()}
        if required and required <= set(value):
            return i
    return max(models, key=lambda i: (len(set(value) & set(stripped[i].model_fields)), _size(stripped[i])))


def _size(model: type[BaseModel]) -> int:
    return len(model.model_fields)


def _member_for_tag(members: tuple[Any, ...], tag: str) -> int | None:
    """Index of the member a pydantic union tag names: ``SelectRow``, ``list[…]``, ``function-after[…]``."""
    for i, member in enumerate(members):
        m = _strip(member)
        if _is_model(m) and (tag == m.__name__ or re.search(rf"\b{m.__name__}\]+$", tag)):
            return i
        if get_origin(m) is list and tag.startswith("list["):
            return i
        if get_origin(m) is dict and tag.startswith("dict["):
            return i
        simple = {str: "str", int: "int", float: "float", bool: "bool", type(None): "none"}.get(m)
        if simple is not None and tag in (simple, f"constrained-{simple}"):
            return i
    return None


_SIMPLE_NOUNS: dict[Any, str] = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true/false",
    type(None): "null",
}


def _describe(member: Any) -> str:
    if get_origin(member) is Annotated:
        patterns = {
            getattr(m, "pattern", None) for f in get_args(member)[1:] for m in getattr(f, "metadata", [])
        }
        noun = next((noun for pattern, noun in _PATTERN_NOUNS.items() if pattern in patterns), None)
        if noun is not None:
            return noun
    m = _strip(member)
    if _is_model(m):
        return _NOUNS.get(m) or str(m.__name__)
    if get_origin(m) is list:
        inner = _strip(get_args(m)[0])
        return f"a list of {_NOUNS[inner].removeprefix('a ')}s" if inner in _NOUNS else "a list"
    if get_origin(m) is dict:
        return "a mapping"
    return _SIMPLE_NOUNS.get(m) or str(m)


def _got(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


@dataclass(frozen=True)
class _Error:
    """One pydantic error with what the message needs."""

    kind: str
    msg: str
    ctx: dict[str, Any]
    value: Any
    walk: _Walk

    @property
    def label(self) -> str:
        walk = self.walk
        if walk.field is None:
            return "the file"
        if walk.dict_key is not None:
            return f"'{walk.field}.{walk.dict_key}'"
        if walk.path and isinstance(walk.path[-1], int):
            return f"an entry of '{walk.field}'"
        return f"'{walk.field}'"

    @property
    def got(self) -> str:
        return f"(got {_got(self.value)})"


def _message(error: Any, walk: _Walk) -> str:
    e = _Error(error["type"], str(error["msg"]), error.get("ctx") or {}, error.get("input"), walk)
    if walk.no_member is not None:
        options = [_describe(m) for m in walk.no_member]
        return f"{e.label} must be {', '.join(options[:-1])} or {options[-1]} (got {_got(walk.value)})"
    if walk.key_error:
        where = f" in '{walk.field}'" if walk.field else ""
        return f"key {_got(e.value)}{where} must be {_PATTERN_HINTS.get(e.ctx.get('pattern', ''), 'valid')}"
    if e.kind in _TYPE_WORDS:
        return _wrong_type(e)
    if e.kind in _BOUNDS:
        key, words = _BOUNDS[e.kind]
        return f"{e.label} must be {words} {e.ctx.get(key)} {e.got}"
    handler = _HANDLERS.get(e.kind)
    return handler(e) if handler is not None else f"{e.label}: {e.msg}"


def _wrong_type(e: _Error) -> str:
    if e.walk.field is None:
        return "the file must be a mapping with version, start, locales, default_locale and dialogs"
    hint = " (YAML reads yes/no/on/off as true/false: quote it)" if isinstance(e.value, bool) else ""
    return f"{e.label} must be {_TYPE_WORDS[e.kind]} {e.got}{hint}"


def _missing(e: _Error) -> str:
    noun = _NOUNS.get(e.walk.owner, "this mapping") if e.walk.owner else "this mapping"
    return f"{noun} needs '{e.walk.field}'"


def _pattern(e: _Error) -> str:
    pattern = e.ctx.get("pattern", "")
    return f"{e.label} must be {_PATTERN_HINTS.get(pattern, f'match {pattern}')} {e.got}"


def _too_long(e: _Error) -> str:
    unit = "characters" if e.kind.startswith("string") else "entries"
    return f"{e.label} allows at most {e.ctx.get('max_length')} {unit}"


_HANDLERS: dict[str, Callable[[_Error], str]] = {
    "extra_forbidden": lambda e: _unknown_key(e.walk),
    "missing": _missing,
    "string_pattern_mismatch": _pattern,
    "literal_error": lambda e: f"{e.label} must be {e.ctx.get('expected')} {e.got}",
    "string_too_short": lambda e: f"{e.label} must not be empty",
    "too_short": lambda e: f"{e.label} needs at least {e.ctx.get('min_length')} entry",
    "too_long": _too_long,
    "string_too_long": _too_long,
    "value_error": lambda e: e.msg.removeprefix("Value error, "),
    "assertion_error": lambda e: e.msg.removeprefix("Assertion failed, "),
}


def _unknown_key(walk: _Walk) -> str:
    key = walk.field or ""
    known = list(walk.owner.model_fields) if walk.owner else []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r} (allowed: {', '.join(known)})"


def _command_name(path: list[str | int], data: Any) -> str | None:
    if len(path) < 2 or path[0] != "commands" or not isinstance(path[1], int) or not isinstance(data, dict):
        return None
    commands = data.get("commands")
    if not isinstance(commands, list) or path[1] >= len(commands) or not isinstance(commands[path[1]], dict):
        return None
    name = commands[path[1]].get("command")
    return name if isinstance(name, str) else None
