"""Frozen typed models of flows.yaml (schema version 1).

The whole user flow is data: dialogs hold windows; a window has text (locale keys), optional media,
keyboard rows, an optional input, a getter and preview data. Every transition — including the ones that
follow an action hook — is a *target* written in the YAML, so the graph is complete without reading Python.

Targets (``Target``):
- ``window``            another window of the same dialog (switch)
- ``dialog.window``     a window of another dialog (started on top of the current one; same dialog → switch)
- ``@back``             the previous window of this dialog
- ``@done``             close this dialog and return to the one below it
- ``@home``             reset the stack and show the flow's start window
- ``@stay``             stay and re-render this window
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
WIDGET_ID_PATTERN = r"^[a-zA-Z0-9_.]+$"
TEXT_KEY_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
TARGET_PATTERN = r"^(@back|@done|@home|@stay|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?)$"
CONDITION_PATTERN = r"^!?[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$"

SPECIAL_TARGETS = frozenset({"@back", "@done", "@home", "@stay"})

Name = Annotated[str, Field(pattern=NAME_PATTERN, description="lower_snake_case identifier")]
HookName = Annotated[
    str, Field(pattern=NAME_PATTERN, description="name of a getter or action in the hook registry")
]
TextKey = Annotated[str, Field(pattern=TEXT_KEY_PATTERN, description="key in catalog/texts/<locale>.yaml")]
Target = Annotated[
    str,
    Field(
        pattern=TARGET_PATTERN,
        description="window | dialog.window | @back | @done | @home | @stay",
    ),
]
Condition = Annotated[
    str,
    Field(
        pattern=CONDITION_PATTERN,
        description="getter data field that must be truthy; prefix with ! for falsy",
    ),
]
# Widget ids are checked by the meaning validator (rule IllegalWidgetId), not here, so that a bad id is
# reported with its own message instead of a generic pattern mismatch.
WidgetId = Annotated[
    str, Field(min_length=1, description="aiogram-dialog widget id: letters, digits, _ and .")
]
Scalar = str | int | float | bool | None

ContentKind = Literal["text", "photo", "video", "document", "audio", "voice"]
MediaKind = Literal["photo", "video", "audio", "voice", "document", "animation"]
InputProblem = Literal[
    "wrong_kind", "too_short", "too_long", "too_big", "too_long_media", "wrong_type", "unreadable"
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Transition(_Frozen):
    """What happens after a click or an input: an optional action hook, then a target per outcome."""

    action: HookName | None = Field(None, description="action hook run first; returns an outcome name")
    args: dict[str, Scalar] = Field(default_factory=dict, description="constant arguments passed to the hook")
    next: Target | None = Field(None, description="target after outcome 'ok' (or after the click, no action)")
    on: dict[Name, Target] = Field(
        default_factory=dict, description="outcome → target; outcomes not listed stay on this window"
    )

    @model_validator(mode="after")
    def _next_or_on_ok(self) -> Transition:
        if self.next is not None and "ok" in self.on:
            raise ValueError("give either 'next' or 'on: {ok: …}', not both")
        if self.on and self.action is None:
            raise ValueError("'on' maps the outcomes of an action: add 'action'")
        return self

    def targets(self) -> dict[str, str]:
        """Outcome → target, with ``next`` as the target of outcome ``ok``."""
        out = dict(self.on)
        if self.next is not None:
            out["ok"] = self.next
        return out


class Button(Transition):
    """One inline button: a plain transition, an action then transition, or a URL."""

    text: TextKey
    id: WidgetId | None = Field(None, description="widget id; derived from the text key when omitted")
    url: str | None = Field(None, description="open this URL instead of a transition")
    when: Condition | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Button:
        if self.url is not None and (self.action or self.next or self.on):
            raise ValueError("a url button cannot also have action/next/on")
        if self.url is None and self.action is None and self.next is None:
            raise ValueError("a button needs 'next', 'action' or 'url'")
        return self

    @property
    def widget_id(self) -> str:
        return self.id or self.text.replace(".", "_")


class Select(Transition):
    """A list of buttons, one per item of a getter field; the picked item id is stored in dialog_data[id]."""

    id: WidgetId
    items: Name = Field(description="getter data field holding a list of mappings")
    item_id: Name = Field("id", description="field of an item used as its id")
    text: TextKey = Field(description="text key formatted with {item[...]} for each item")
    item_id_max_bytes: int = Field(
        16, ge=1, le=64, description="longest item id in bytes (bounds the callback data)"
    )
    columns: int = Field(1, ge=1, le=8)
    page_size: int | None = Field(None, ge=1, le=20, description="rows per page; adds a pager under the list")
    when: Condition | None = None


class SelectRow(_Frozen):
    select: Select


class PagerRow(_Frozen):
    pager: WidgetId = Field(description="id of the window's scroll: prev / 'N / M' / next")
    when: Condition | None = None


Row = list[Button] | SelectRow | PagerRow | Button


class TextLine(_Frozen):
    key: TextKey
    when: Condition | None = None


class Media(_Frozen):
    kind: MediaKind
    path: str | None = Field(None, description="a file in the repository, sent as it is")
    field: Name | None = Field(None, description="getter data field holding a path, URL or Telegram file_id")
    when: Condition | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Media:
        if (self.path is None) == (self.field is None):
            raise ValueError("media needs exactly one of 'path' or 'field'")
        return self


class Input(Transition):
    """What the window accepts as a message; checked by the engine before the action sees it."""

    accept: list[ContentKind] = Field(min_length=1)
    min_length: int | None = Field(None, ge=1, description="text: fewest characters")
    max_length: int | None = Field(None, ge=1, le=4096, description="text: most characters")
    max_mb: float | None = Field(None, gt=0, le=2000, description="file: largest size in MB")
    max_seconds: float | None = Field(None, gt=0, description="video/audio/voice: longest duration")
    mime: list[str] = Field(default_factory=list, description="file: accepted MIME types")
    messages: dict[InputProblem, TextKey] = Field(
        default_factory=dict, description="override the default input.<problem> texts"
    )

    @model_validator(mode="after")
    def _needs_action(self) -> Input:
        if self.action is None:
            raise ValueError("an input needs an 'action' that receives the value")
        return self


class Scroll(_Frozen):
    id: WidgetId
    pages: Name = Field(description="getter data field with the number of pages")


class Window(_Frozen):
    text: TextKey | list[TextKey | TextLine]
    media: Media | None = None
    getter: HookName | None = None
    keyboard: list[Row] = Field(default_factory=list)
    input: Input | None = None
    scroll: Scroll | None = None
    preview: dict[str, Any] = Field(default_factory=dict, description="sample getter data for the preview")

    def text_lines(self) -> list[TextLine]:
        if isinstance(self.text, str):
            return [TextLine(key=self.text)]
        return [TextLine(key=t) if isinstance(t, str) else t for t in self.text]

    def rows(self) -> list[list[Button] | SelectRow | PagerRow]:
        return [[r] if isinstance(r, Button) else r for r in self.keyboard]

    def buttons(self) -> list[Button]:
        return [b for row in self.rows() if isinstance(row, list) for b in row]

    def selects(self) -> list[Select]:
        return [row.select for row in self.rows() if isinstance(row, SelectRow)]


Access = Literal["everyone", "admins"]


class Dialog(_Frozen):
    access: Access = Field(
        "everyone", description="'admins': only ADMIN_IDS may open it; to anyone else it does not exist"
    )
    getter: HookName | None = None
    windows: dict[Name, Window] = Field(
        min_length=1, description="the first window is where the dialog starts"
    )
    preview: dict[str, Any] = Field(default_factory=dict)

    @property
    def first_window(self) -> str:
        return next(iter(self.windows))


class Command(Transition):
    command: Name
    description: TextKey
    access: Access = Field(
        "everyone",
        description="'admins': only ADMIN_IDS may use it and see it in the menu; others get what an unknown "
        "command gets",
    )


class Flows(_Frozen):
    version: Literal[1]
    start: Target = Field(description="dialog.window shown by /start and @home")
    locales: list[Name] = Field(min_length=1)
    default_locale: Name
    texts: str = Field("catalog/texts", description="folder with <locale>.yaml text files")
    commands: list[Command] = Field(default_factory=list)
    preview: dict[str, Any] = Field(default_factory=dict, description="preview data shared by every window")
    dialogs: dict[Name, Dialog] = Field(min_length=1)

    def window(self, dialog: str, window: str) -> Window | None:
        d = self.dialogs.get(dialog)
        return None if d is None else d.windows.get(window)

    def iter_windows(self) -> list[tuple[str, str, Window]]:
        return [(dn, wn, w) for dn, d in self.dialogs.items() for wn, w in d.windows.items()]


def resolve_target(target: str, current_dialog: str) -> tuple[str, str] | None:
    """(dialog, window) a target points at, or None for @back/@done/@stay; @home is not resolved here."""
    if target in SPECIAL_TARGETS:
        return None
    if "." in target:
        dialog, window = target.split(".", 1)
        return dialog, window
    return current_dialog, target


def is_legal_widget_id(widget_id: str) -> bool:
    return re.fullmatch(WIDGET_ID_PATTERN, widget_id) is not None
