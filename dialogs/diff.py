"""What a new flows.yaml does to sessions saved under the old one: removed or renamed dialogs and windows.

A saved FSM state reads ``dialog:window``; when that address is gone, the runtime sends the user to the start
window. These warnings tell the author which users that will be before the change ships.
"""

from __future__ import annotations

from collections.abc import Iterator

from dialogs.errors import (
    ChangedStart,
    FlowError,
    RemovedCommand,
    RemovedDialog,
    RemovedLocale,
    RemovedWindow,
    RenamedWindow,
)
from dialogs.loader import LoadedFlows
from dialogs.schema import Window


def diff_flows(old: LoadedFlows, new: LoadedFlows) -> list[FlowError]:
    """Warnings about everything in ``old`` that live users may be on and ``new`` no longer has."""
    return [
        *_dialogs(old, new),
        *_windows(old, new),
        *_start(old, new),
        *_commands(old, new),
        *_locales(old, new),
    ]


def _text_keys(window: Window) -> tuple[str, ...]:
    return tuple(line.key for line in window.text_lines())


def _where(loaded: LoadedFlows, *node: str | int) -> str:
    return f"{loaded.path}:{loaded.source.line_of(node)}"


def _dialogs(old: LoadedFlows, new: LoadedFlows) -> Iterator[FlowError]:
    start = new.flows.start
    added = [name for name in new.flows.dialogs if name not in old.flows.dialogs]
    for name, dialog in old.flows.dialogs.items():
        if name in new.flows.dialogs:
            continue
        node = ("dialogs", name)
        twin = next((a for a in added if set(new.flows.dialogs[a].windows) == set(dialog.windows)), None)
        if twin is not None:
            message = (
                f"dialog renamed to {twin!r} ({_where(new, 'dialogs', twin)})? "
                f"users inside the old name will be sent to the start window ({start})"
            )
            yield old.problem(RenamedWindow, node, message)
        else:
            count = len(dialog.windows)
            message = (
                f"dialog removed with its {count} window{'s' if count != 1 else ''}: "
                f"users inside it will be sent to the start window ({start})"
            )
            yield old.problem(RemovedDialog, node, message)


def _windows(old: LoadedFlows, new: LoadedFlows) -> Iterator[FlowError]:
    start = new.flows.start
    for dialog_name, old_dialog in old.flows.dialogs.items():
        new_dialog = new.flows.dialogs.get(dialog_name)
        if new_dialog is None:
            continue
        added = {name: w for name, w in new_dialog.windows.items() if name not in old_dialog.windows}
        for name, window in old_dialog.windows.items():
            if name in new_dialog.windows:
                continue
            node = ("dialogs", dialog_name, "windows", name)
            twin = next((a for a, w in added.items() if _text_keys(w) == _text_keys(window)), None)
            if twin is not None:
                added.pop(twin)
                where = _where(new, "dialogs", dialog_name, "windows", twin)
                message = (
                    f"window renamed to {twin!r} ({where})? "
                    f"users on the old name will be sent to the start window ({start})"
                )
                yield old.problem(RenamedWindow, node, message)
            else:
                message = f"window removed: users on it will be sent to the start window ({start})"
                yield old.problem(RemovedWindow, node, message)


def _start(old: LoadedFlows, new: LoadedFlows) -> Iterator[FlowError]:
    before, after = old.flows.start, new.flows.start
    if before != after:
        message = f"start changed from {before} to {after}: /start and @home now open {after}"
        yield new.problem(ChangedStart, ("start",), message)


def _commands(old: LoadedFlows, new: LoadedFlows) -> Iterator[FlowError]:
    kept = {command.command for command in new.flows.commands}
    for i, command in enumerate(old.flows.commands):
        if command.command not in kept:
            message = (
                f"command /{command.command} removed: it leaves the bot's menu and typing it stops working"
            )
            yield old.problem(RemovedCommand, ("commands", i), message)


def _locales(old: LoadedFlows, new: LoadedFlows) -> Iterator[FlowError]:
    for locale in old.flows.locales:
        if locale not in new.flows.locales:
            message = f"locale {locale!r} removed: its users fall back to {new.flows.default_locale!r}"
            yield old.problem(RemovedLocale, ("locales",), message)
