"""Problems found in flows.yaml: one class per rule, each carrying file, line, dialog and window."""

# ruff: noqa: N818  # rule classes are named after their rule (UnknownTarget), not suffixed with "Error"

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(eq=False)
class FlowError(Exception):
    """One problem at ``file:line``; printed as ``PATH:LINE: dialog.window: message``."""

    file: Path
    line: int
    message: str
    dialog: str | None = None
    window: str | None = None
    severity: Severity = "error"

    @property
    def location(self) -> str:
        if self.dialog is None:
            return "-"
        return self.dialog if self.window is None else f"{self.dialog}.{self.window}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {self.location}: {prefix}{self.message}"

    def __str__(self) -> str:
        return self.format()


@dataclass(eq=False)
class FlowWarning(FlowError):
    """A change that is legal but affects live users; never fails a check."""

    severity: Severity = "warning"


class FlowErrors(Exception):
    """Every problem found at once; ``str()`` lists them one per line."""

    def __init__(self, errors: Iterable[FlowError]) -> None:
        self.errors = list(errors)
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(error.format() for error in self.errors)

    def __str__(self) -> str:
        return self.format()


# --- stage 1: the file and its shape ------------------------------------------------------------------------


class UnreadableFile(FlowError):
    """The flows file does not exist or cannot be read."""


class YamlSyntaxError(FlowError):
    """The file is not valid YAML."""


class DuplicateKey(FlowError):
    """A mapping repeats a key (YAML parsers silently keep the last one)."""


class SchemaViolation(FlowError):
    """A node does not fit the flows.yaml models (unknown key, wrong type, bad target syntax, ...)."""


# --- stage 2: meaning ---------------------------------------------------------------------------------------


class BadStart(FlowError):
    """``start`` names no existing window, or ``default_locale`` is not one of ``locales``."""


class UnknownTarget(FlowError):
    """A transition points at a dialog or window that does not exist."""


class BackFromFirstWindow(FlowError):
    """``@back`` on a dialog's first window, or in a command: there is no previous window to go back to."""


class UnreachableWindow(FlowError):
    """No path leads to the window from ``start`` or from any command."""


class DuplicateWidgetId(FlowError):
    """Two widgets of one window share an id, so one of them never receives its clicks."""


class AdminLeak(FlowError):
    """Something everyone can use leads into an ``access: admins`` dialog (or the start is one)."""


class DuplicateCommand(FlowError):
    """A bot command is declared twice."""


class UnregisteredHook(FlowError):
    """A getter or action name is not in the hook registry."""


class WrongHookKind(FlowError):
    """A getter is used as an action or the other way round."""


class UnknownOutcome(FlowError):
    """An ``on:`` key names an outcome the action never returns."""


class MissingText(FlowError):
    """A text key is missing in a locale file."""


class MissingPlaceholderData(FlowError):
    """A text uses a ``{placeholder}`` that no preview data provides."""


class IllegalWidgetId(FlowError):
    """A widget id has characters aiogram-dialog rejects."""


class CallbackDataTooLong(FlowError):
    """A button's callback data can exceed Telegram's 64-byte limit."""


class MissingMediaFile(FlowError):
    """A window's media ``path`` is not a file."""


class UnknownScroll(FlowError):
    """A ``pager:`` row names no scroll of its window."""


class TextsProblem(FlowError):
    """A locale file is missing or invalid, or one of its texts is a broken template."""


# --- comparing two versions (warnings) ----------------------------------------------------------------------


class RemovedDialog(FlowWarning):
    """A dialog of the old file is gone; users inside it are sent to the start window."""


class RemovedWindow(FlowWarning):
    """A window of the old file is gone; users on it are sent to the start window."""


class RenamedWindow(FlowWarning):
    """A window (or dialog) looks renamed; users on the old name are sent to the start window."""


class ChangedStart(FlowWarning):
    """``start`` changed: /start and @home open another window."""


class RemovedCommand(FlowWarning):
    """A bot command is gone."""


class RemovedLocale(FlowWarning):
    """A locale is gone; its users fall back to the default locale."""
