"""Meaning checks of a schema-valid flows.yaml: one small function per rule, every problem at once."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dialogs.compile import SESSION_EXPIRED_KEY
from dialogs.errors import (
    AdminLeak,
    BackFromFirstWindow,
    BadStart,
    CallbackDataTooLong,
    DuplicateCommand,
    DuplicateWidgetId,
    FlowError,
    IllegalWidgetId,
    MissingMediaFile,
    MissingPlaceholderData,
    MissingText,
    TextsProblem,
    UnknownOutcome,
    UnknownScroll,
    UnknownTarget,
    UnreachableWindow,
    UnregisteredHook,
    WrongHookKind,
)
from dialogs.i18n import TextCatalog, placeholders
from dialogs.inputs import UNEXPECTED_INPUT_KEY
from dialogs.loader import LoadedFlows, NodePath
from dialogs.registry import HookKind, HookRegistry
from dialogs.schema import (
    SPECIAL_TARGETS,
    Button,
    Flows,
    Input,
    InputProblem,
    PagerRow,
    Select,
    SelectRow,
    Transition,
    Window,
    is_legal_widget_id,
    resolve_target,
)
from dialogs.widgets import pager_ids, select_scroll_id

# Telegram caps callback data at 64 bytes; aiogram-dialog prepends the intent id (≤ 6 chars) and a separator.
CALLBACK_DATA_LIMIT = 64
INTENT_PREFIX_BYTES = 6 + 1
PAYLOAD_LIMIT = CALLBACK_DATA_LIMIT - INTENT_PREFIX_BYTES
PAGE_NUMBER_DIGITS = 4

# Texts the engine itself sends, whatever the windows say.
ENGINE_TEXT_KEYS = (UNEXPECTED_INPUT_KEY, SESSION_EXPIRED_KEY)
# Names a select's item text gets from the select itself rather than from the window's data.
SELECT_ITEM_FIELDS = frozenset({"item", "pos", "pos0"})
_FILE_KINDS = frozenset({"photo", "video", "document", "audio", "voice"})


def input_problems(spec: Input) -> list[InputProblem]:
    """The ``input.<problem>`` messages an input can trigger, given its limits."""
    found: list[InputProblem] = ["wrong_kind"]
    if spec.min_length is not None:
        found.append("too_short")
    if spec.max_length is not None:
        found.append("too_long")
    if spec.max_mb is not None:
        found.append("too_big")
    if spec.max_seconds is not None:
        found.append("too_long_media")
    if spec.mime:
        found.append("wrong_type")
    if _FILE_KINDS & set(spec.accept):
        found.append("unreadable")
    return found


def validate_flows(loaded: LoadedFlows, registry: HookRegistry, texts: TextCatalog) -> list[FlowError]:
    """Every meaning problem of ``loaded``: targets, reachability, ids, hooks, texts, callback data, media."""
    check = _Check(loaded, registry, texts)
    problems = [problem for rule in _RULES for problem in rule(check)]
    return sorted(problems, key=lambda p: (p.file != loaded.path, str(p.file), p.line))


@dataclass(frozen=True, slots=True)
class _Check:
    loaded: LoadedFlows
    registry: HookRegistry
    texts: TextCatalog

    @property
    def flows(self) -> Flows:
        return self.loaded.flows

    def problem(self, kind: type[FlowError], node: NodePath, message: str) -> FlowError:
        return self.loaded.problem(kind, node, message)

    def locales(self) -> list[str]:
        """Locales of the flow that have texts loaded (the others are reported once by the texts rule)."""
        return [loc for loc in self.flows.locales if loc in self.texts.locales]

    def locale_file(self, locale: str) -> Path:
        return self.loaded.path.parent / self.flows.texts / f"{locale}.yaml"


# --- walking the flow ---------------------------------------------------------------------------------------


def _windows(flows: Flows) -> Iterator[tuple[NodePath, str, Window]]:
    for dialog_name, window_name, window in flows.iter_windows():
        yield ("dialogs", dialog_name, "windows", window_name), dialog_name, window


def _keyboard(at: NodePath, window: Window) -> Iterator[tuple[NodePath, Button | Select | PagerRow]]:
    for i, row in enumerate(window.keyboard):
        if isinstance(row, list):
            for j, button in enumerate(row):
                yield (*at, "keyboard", i, j), button
        elif isinstance(row, SelectRow):
            yield (*at, "keyboard", i, "select"), row.select
        else:
            yield (*at, "keyboard", i), row


def _window_transitions(at: NodePath, window: Window) -> Iterator[tuple[NodePath, Transition]]:
    for path, part in _keyboard(at, window):
        if isinstance(part, Transition):
            yield path, part
    if window.input is not None:
        yield (*at, "input"), window.input


def _transitions(flows: Flows) -> Iterator[tuple[NodePath, str | None, Transition]]:
    """Every transition with the dialog it runs in (None for commands, which run anywhere)."""
    for at, dialog, window in _windows(flows):
        for path, transition in _window_transitions(at, window):
            yield path, dialog, transition
    for i, command in enumerate(flows.commands):
        yield ("commands", i), None, command


def _targets(path: NodePath, transition: Transition) -> Iterator[tuple[NodePath, str]]:
    if transition.next is not None:
        yield (*path, "next"), transition.next
    for outcome, target in transition.on.items():
        yield (*path, "on", outcome), target


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _target_problem(flows: Flows, target: str, dialog: str | None) -> str | None:
    if target in SPECIAL_TARGETS:
        return None
    if dialog is None and "." not in target:
        return f"target {target!r}: a command has no current dialog, write 'dialog.window'"
    resolved = resolve_target(target, dialog or "")
    if resolved is None:
        return None
    dialog_name, window_name = resolved
    found = flows.dialogs.get(dialog_name)
    if found is None:
        return f"target {target!r}: no dialog {dialog_name!r}{_did_you_mean(dialog_name, flows.dialogs)}"
    if window_name not in found.windows:
        hint = _did_you_mean(window_name, found.windows)
        return f"target {target!r}: no window {window_name!r} in dialog {dialog_name!r}{hint}"
    return None


def _start(flows: Flows) -> tuple[str, str] | None:
    if flows.start in SPECIAL_TARGETS or "." not in flows.start:
        return None
    resolved = resolve_target(flows.start, "")
    return resolved if resolved is not None and flows.window(*resolved) is not None else None


# --- rules --------------------------------------------------------------------------------------------------


def _check_start(check: _Check) -> Iterator[FlowError]:
    flows = check.flows
    if flows.start in SPECIAL_TARGETS or "." not in flows.start:
        message = f"'start' must be dialog.window, like 'main.menu' (got {flows.start!r})"
        yield check.problem(BadStart, ("start",), message)
    else:
        problem = _target_problem(flows, flows.start, None)
        if problem is not None:
            yield check.problem(BadStart, ("start",), f"'start' {problem}")
    if flows.default_locale not in flows.locales:
        locales = ", ".join(flows.locales)
        message = f"default_locale {flows.default_locale!r} is not one of the locales: {locales}"
        yield check.problem(BadStart, ("default_locale",), message)


def _is_first_window(flows: Flows, dialog: str | None, path: NodePath) -> bool:
    return dialog is None or path[3] == flows.dialogs[dialog].first_window


def _check_targets(check: _Check) -> Iterator[FlowError]:
    for path, dialog, transition in _transitions(check.flows):
        for at, target in _targets(path, transition):
            problem = _target_problem(check.flows, target, dialog)
            if problem is not None:
                yield check.problem(UnknownTarget, at, problem)
            elif target == "@back" and _is_first_window(check.flows, dialog, path):
                where = "a command" if dialog is None else f"the first window of dialog {dialog!r}"
                message = f"'@back' in {where} has no previous window: use '@done' or name the window"
                yield check.problem(BackFromFirstWindow, at, message)


def _check_reachable(check: _Check) -> Iterator[FlowError]:
    flows = check.flows
    start = _start(flows)
    if start is None:
        return  # reported by _check_start; every window would look unreachable

    def resolve(target: str, dialog: str | None) -> tuple[str, str] | None:
        if target == "@home":
            return start
        if dialog is None and "." not in target:
            return None
        found = resolve_target(target, dialog or "")
        return found if found is not None and flows.window(*found) is not None else None

    seen = {start}
    queue = [start]
    for i, command in enumerate(flows.commands):
        for _, target in _targets(("commands", i), command):
            found = resolve(target, None)
            if found is not None and found not in seen:
                seen.add(found)
                queue.append(found)
    while queue:
        dialog, name = queue.pop()
        window = flows.dialogs[dialog].windows[name]
        for path, transition in _window_transitions((), window):
            for _, target in _targets(path, transition):
                found = resolve(target, dialog)
                if found is not None and found not in seen:
                    seen.add(found)
                    queue.append(found)
    for at, dialog, _ in _windows(flows):
        if (dialog, str(at[3])) not in seen:
            message = f"window is not reachable from start ({flows.start}) or any command"
            yield check.problem(UnreachableWindow, at, message)


def _hook_uses(flows: Flows) -> Iterator[tuple[NodePath, str, HookKind]]:
    for name, dialog in flows.dialogs.items():
        if dialog.getter is not None:
            yield ("dialogs", name, "getter"), dialog.getter, "getter"
    for at, _, window in _windows(flows):
        if window.getter is not None:
            yield (*at, "getter"), window.getter, "getter"
    for path, _, transition in _transitions(flows):
        if transition.action is not None:
            yield (*path, "action"), transition.action, "action"


def _check_hooks(check: _Check) -> Iterator[FlowError]:
    registered = check.registry.names()
    for path, name, wanted in _hook_uses(check.flows):
        kind = registered.get(name)
        if kind is None:
            same_kind = [n for n, k in registered.items() if k == wanted]
            message = f"no {wanted} named {name!r} is registered{_did_you_mean(name, same_kind)}"
            yield check.problem(UnregisteredHook, path, message)
        elif kind != wanted:
            message = f"{name!r} is registered as {_a(kind)}, but '{path[-1]}' needs {_a(wanted)}"
            yield check.problem(WrongHookKind, path, message)


def _a(kind: HookKind) -> str:
    return "an action" if kind == "action" else "a getter"


def _check_outcomes(check: _Check) -> Iterator[FlowError]:
    for path, _, transition in _transitions(check.flows):
        if transition.action is None or check.registry.kind_of(transition.action) != "action":
            continue
        outcomes = check.registry.get_action(transition.action).outcomes
        for outcome in transition.on:
            if outcome not in outcomes:
                returns = ", ".join(sorted(outcomes))
                message = f"action {transition.action!r} never returns {outcome!r} (it returns: {returns})"
                yield check.problem(UnknownOutcome, (*path, "on", outcome), message)


def _widget_ids(at: NodePath, window: Window) -> Iterator[tuple[NodePath, str, bool]]:
    """(node, widget id, written by the author) for every widget of a window that owns an id."""
    if window.scroll is not None:
        yield (*at, "scroll", "id"), window.scroll.id, True
    paged: set[str] = set()
    for path, part in _keyboard(at, window):
        if isinstance(part, Button):
            node = (*path, "id") if part.id is not None else (*path, "text")
            yield node, part.widget_id, part.id is not None
        elif isinstance(part, Select):
            yield (*path, "id"), part.id, True
            if part.page_size is not None:
                yield (*path, "page_size"), select_scroll_id(part.id), False
        elif part.pager not in paged:
            # Several pager rows of one scroll share their buttons' ids on purpose.
            paged.add(part.pager)
            for widget_id in pager_ids(part.pager):
                yield (*path, "pager"), widget_id, False


def _check_widget_ids(check: _Check) -> Iterator[FlowError]:
    for at, _, window in _windows(check.flows):
        first: dict[str, NodePath] = {}
        for node, widget_id, written in _widget_ids(at, window):
            if written and not is_legal_widget_id(widget_id):
                message = f"widget id {widget_id!r} may hold only letters, digits, '_' and '.'"
                yield check.problem(IllegalWidgetId, node, message)
            if widget_id in first:
                line = check.loaded.source.line_of(first[widget_id])
                hint = "" if written else " — give one of them its own 'id'"
                message = f"widget id {widget_id!r} is used twice in this window (first at line {line}){hint}"
                yield check.problem(DuplicateWidgetId, node, message)
            else:
                first[widget_id] = node


def _payloads(at: NodePath, window: Window) -> Iterator[tuple[NodePath, int, str]]:
    """(node, worst-case payload bytes after the intent prefix, what to shorten) per callback button kind."""
    for path, part in _keyboard(at, window):
        if isinstance(part, Button):
            if part.url is None:
                node = (*path, "id") if part.id is not None else (*path, "text")
                yield node, _bytes(part.widget_id), f"the button id {part.widget_id!r}"
        elif isinstance(part, Select):
            what = f"the select id {part.id!r} or its item_id_max_bytes ({part.item_id_max_bytes})"
            yield (*path, "id"), _bytes(part.id) + 1 + part.item_id_max_bytes, what
            if part.page_size is not None:
                pager_id = select_scroll_id(part.id)
                yield (*path, "id"), _bytes(pager_id) + 1 + PAGE_NUMBER_DIGITS, f"the select id {part.id!r}"
        else:
            longest = max(pager_ids(part.pager), key=_bytes)
            yield (*path, "pager"), _bytes(longest) + 1 + PAGE_NUMBER_DIGITS, f"the scroll id {part.pager!r}"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _check_callback_data(check: _Check) -> Iterator[FlowError]:
    for at, _, window in _windows(check.flows):
        reported: set[NodePath] = set()
        for node, payload, what in _payloads(at, window):
            if payload > PAYLOAD_LIMIT and node not in reported:
                reported.add(node)
                total = payload + INTENT_PREFIX_BYTES
                message = (
                    f"callback data can reach {total} bytes, Telegram allows {CALLBACK_DATA_LIMIT}: "
                    f"shorten {what} by {_plural(payload - PAYLOAD_LIMIT, 'byte')}"
                )
                yield check.problem(CallbackDataTooLong, node, message)


def _check_commands(check: _Check) -> Iterator[FlowError]:
    first: dict[str, int] = {}
    for i, command in enumerate(check.flows.commands):
        line = check.loaded.source.line_of(("commands", i))
        if command.command in first:
            message = f"command /{command.command} is declared twice (first at line {first[command.command]})"
            yield check.problem(DuplicateCommand, ("commands", i, "command"), message)
        else:
            first[command.command] = line


def _check_access(check: _Check) -> Iterator[FlowError]:
    """Admin dialogs are reached only from admin dialogs and admin commands: no button a user sees, no user
    command and not the start window lead into one."""
    flows = check.flows

    def admin_only(target: str, dialog: str | None) -> str | None:
        resolved = None if target in SPECIAL_TARGETS else resolve_target(target, dialog or "")
        if resolved is None:
            return None
        found = flows.dialogs.get(resolved[0])
        return resolved[0] if found is not None and found.access == "admins" else None

    start = _start(flows)
    if start is not None and flows.dialogs[start[0]].access == "admins":
        message = f"start {flows.start!r} is an admin dialog: users would see it"
        yield check.problem(AdminLeak, ("start",), message)
    for path, dialog, transition in _transitions(flows):
        if dialog is None:
            command = flows.commands[path[1]]  # type: ignore[index]
            if command.access == "admins":
                continue
            who = f"command /{command.command}, which everyone can use,"
        else:
            if flows.dialogs[dialog].access == "admins":
                continue
            who = f"dialog {dialog!r}, which everyone can open,"
        for at, target in _targets(path, transition):
            leaked = admin_only(target, dialog)
            if leaked is not None:
                message = f"{who} leads to admin dialog {leaked!r}: mark it `access: admins` or drop the link"
                yield check.problem(AdminLeak, at, message)


def _text_uses(flows: Flows) -> Iterator[tuple[NodePath, str]]:
    """(node, text key) for every text the flow can send, in file order, engine texts first."""
    for key in ENGINE_TEXT_KEYS:
        yield ("texts",), key
    for i, command in enumerate(flows.commands):
        yield ("commands", i, "description"), command.description
    for at, _, window in _windows(flows):
        yield from _window_texts(at, window)
        if window.input is not None:
            spec, node = window.input, (*at, "input")
            for problem, key in spec.messages.items():
                yield (*node, "messages", problem), key
            for problem in input_problems(spec):
                if problem not in spec.messages:
                    yield node, f"input.{problem}"


def _window_texts(at: NodePath, window: Window) -> Iterator[tuple[NodePath, str]]:
    """(node, key) of the texts a window renders with its data: text lines, button and select labels."""
    if isinstance(window.text, str):
        yield (*at, "text"), window.text
    else:
        for i, line in enumerate(window.text):
            yield ((*at, "text", i), line) if isinstance(line, str) else ((*at, "text", i, "key"), line.key)
    for path, part in _keyboard(at, window):
        if isinstance(part, Button | Select):
            yield (*path, "text"), part.text


def _check_texts(check: _Check) -> Iterator[FlowError]:
    for locale in check.flows.locales:
        if locale not in check.texts.locales:
            message = f"no texts for locale {locale!r}: {check.locale_file(locale)} is missing or invalid"
            yield check.problem(TextsProblem, ("locales",), message)
    seen: set[str] = set()
    for node, key in _text_uses(check.flows):
        if key in seen:
            continue
        seen.add(key)
        for locale in check.locales():
            if not check.texts.has(locale, key):
                message = f"text {key!r} is missing in locale {locale!r} ({check.locale_file(locale)})"
                yield check.problem(MissingText, node, message)
                continue
            try:
                placeholders(check.texts.get(locale, key))
            except ValueError as exc:
                where = check.texts.location(locale, key)
                file, line = (where.path, where.line) if where else (check.locale_file(locale), 1)
                yield TextsProblem(file, line, f"text {key!r} is not a valid template: {exc}")


def _check_placeholders(check: _Check) -> Iterator[FlowError]:
    flows = check.flows
    for at, dialog, window in _windows(flows):
        data = set(flows.preview) | set(flows.dialogs[dialog].preview) | set(window.preview)
        missing: dict[tuple[NodePath, str, str], list[str]] = {}
        for node, key in _window_texts(at, window):
            own = SELECT_ITEM_FIELDS if _is_select_text(node) else frozenset()
            for locale in check.locales():
                for name in sorted(_placeholders_of(check.texts, locale, key) - data - own):
                    missing.setdefault((node, key, name), []).append(locale)
        for (node, key, name), locales in missing.items():
            where = "" if len(locales) == len(check.locales()) else f" (in {', '.join(locales)})"
            message = (
                f"text {key!r} uses {{{name}}}{where}, which no preview data gives: "
                f"add {name!r} to 'preview:' of the window, its dialog or the file"
            )
            yield check.problem(MissingPlaceholderData, node, message)


def _is_select_text(node: NodePath) -> bool:
    return len(node) >= 2 and node[-2] == "select"


def _placeholders_of(texts: TextCatalog, locale: str, key: str) -> set[str]:
    if not texts.has(locale, key):
        return set()
    try:
        return placeholders(texts.get(locale, key))
    except ValueError:
        return set()  # reported by _check_texts


def _check_media(check: _Check) -> Iterator[FlowError]:
    folder = check.loaded.path.parent
    for at, _, window in _windows(check.flows):
        media = window.media
        if media is not None and media.path is not None and not (folder / media.path).is_file():
            message = f"media file {media.path!r} not found (looked for {folder / media.path})"
            yield check.problem(MissingMediaFile, (*at, "media", "path"), message)


def _check_scrolls(check: _Check) -> Iterator[FlowError]:
    for at, _, window in _windows(check.flows):
        scroll = window.scroll
        for path, part in _keyboard(at, window):
            if isinstance(part, PagerRow) and (scroll is None or part.pager != scroll.id):
                hint = (
                    f"its scroll is {scroll.id!r}"
                    if scroll is not None
                    else "add 'scroll: {id: …, pages: …}' to the window"
                )
                message = f"pager {part.pager!r} names no scroll of this window ({hint})"
                yield check.problem(UnknownScroll, (*path, "pager"), message)


_RULES: tuple[Callable[[_Check], Iterator[FlowError]], ...] = (
    _check_start,
    _check_targets,
    _check_reachable,
    _check_hooks,
    _check_outcomes,
    _check_widget_ids,
    _check_callback_data,
    _check_commands,
    _check_access,
    _check_texts,
    _check_placeholders,
    _check_media,
    _check_scrolls,
)
