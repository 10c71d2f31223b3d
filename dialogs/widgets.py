"""Custom aiogram-dialog widgets: locale texts, media from a getter field, the scroll pager row.

A window's text lines are joined with a single ``"\\n"``: each locale text carries its own blank lines, so
an editor decides the spacing in the texts file, and a line hidden by ``when`` leaves no gap.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiogram.types import ContentType
from aiogram_dialog import DialogManager
from aiogram_dialog.api.entities import MediaAttachment, MediaId
from aiogram_dialog.api.internal import RawKeyboard
from aiogram_dialog.widgets.kbd import CurrentPage, Keyboard, NextPage, PrevPage, Row, StubScroll
from aiogram_dialog.widgets.media import Media, StaticMedia
from aiogram_dialog.widgets.text import Const, Format, Text

from dialogs import schema
from dialogs.conditions import Predicate, holds, lookup, when
from dialogs.i18n import TextCatalog
from dialogs.registry import LOCALE_KEY

logger = logging.getLogger(__name__)

# Telegram file ids are URL-safe base64 (no slash, no dot); a media file's path has at least an extension.
_FILE_ID = re.compile(r"[A-Za-z0-9_-]+")

PAGER_PREV_TEXT = "◀️"
PAGER_NEXT_TEXT = "▶️"
PAGER_CURRENT_TEXT = "{current_page1} / {pages}"


def locale_of(manager: DialogManager, default: str) -> str:
    """The user's locale put into the middleware data by the locale middleware, else ``default``."""
    locale = manager.middleware_data.get(LOCALE_KEY)
    return locale if isinstance(locale, str) and locale else default


def pager_ids(scroll_id: str) -> tuple[str, str, str]:
    """Widget ids of a pager row's buttons: previous, current ("N / M"), next."""
    return f"{scroll_id}_prev", f"{scroll_id}_cur", f"{scroll_id}_next"


def select_scroll_id(select_id: str) -> str:
    """Widget id of the ScrollingGroup that pages a select with ``page_size``."""
    return f"{select_id}_pg"


class LocaleText(Text):
    """The text of a locale key, formatted with the window data; unknown placeholders stay visible."""

    def __init__(
        self, key: str, texts: TextCatalog, default_locale: str, when: Predicate | None = None
    ) -> None:
        super().__init__(when=when)
        self.key = key
        self.texts = texts
        self.default_locale = default_locale

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        return self.texts.render(locale_of(manager, self.default_locale), self.key, self._values(data))

    def _values(self, data: dict[str, Any]) -> Mapping[str, Any]:
        return data


class ItemText(LocaleText):
    """A select item's text: the window data plus ``item``, ``pos`` (1-based) and ``pos0``."""

    def _values(self, data: dict[str, Any]) -> Mapping[str, Any]:
        window_data = data.get("data")
        merged: dict[str, Any] = dict(window_data) if isinstance(window_data, Mapping) else {}
        merged.update(item=data.get("item"), pos=data.get("pos"), pos0=data.get("pos0"))
        return merged


def media_attachment(kind: str, value: Any, base_dir: Path) -> MediaAttachment | None:
    """A getter field as media: http(s) URL, existing file or Telegram file_id; a missing file → None."""
    if isinstance(value, MediaAttachment) or value is None:
        return value
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value:
        return None
    content_type = ContentType(kind)
    if value.startswith(("http://", "https://")):
        return MediaAttachment(content_type, url=value)
    path = Path(value)
    if not path.is_absolute():
        path = base_dir / path
    if path.is_file():
        return MediaAttachment(content_type, path=str(path))
    if _FILE_ID.fullmatch(value):
        return MediaAttachment(content_type, file_id=MediaId(value))
    # A path whose file is gone: the window is still worth showing, without the media.
    logger.warning("media file %s not found; showing the window without it", path)
    return None


class FieldMedia(Media):
    """Media read from a getter field; an empty field shows no media."""

    def __init__(self, kind: str, field: str, base_dir: Path, when: Predicate | None = None) -> None:
        super().__init__(when=when)
        self.kind = kind
        self.field = field
        self.base_dir = base_dir

    async def _render_media(self, data: dict[str, Any], manager: DialogManager) -> MediaAttachment | None:
        return media_attachment(self.kind, lookup(data, self.field), self.base_dir)


def media_widget(media: schema.Media, base_dir: Path) -> Media:
    """StaticMedia for a repository file, FieldMedia for a getter field."""
    if media.path is not None:
        return StaticMedia(
            path=str(base_dir / media.path), type=ContentType(media.kind), when=when(media.when)
        )
    assert media.field is not None  # the schema demands exactly one of path/field
    return FieldMedia(media.kind, media.field, base_dir, when=when(media.when))


class PageScroll(StubScroll):
    """The page number of a window whose getter pages its own data (``scroll:``); draws nothing."""

    def __init__(self, scroll: schema.Scroll) -> None:
        super().__init__(id=scroll.id, pages=scroll.pages)

    async def _render_keyboard(self, data: dict[str, Any], manager: DialogManager) -> RawKeyboard:
        # StubScroll draws one empty row, which would reach Telegram as an empty keyboard row.
        return []


def pager_row(scroll: schema.Scroll, condition: str | None) -> Keyboard:
    """Previous / "N / M" / next buttons for the window's scroll, hidden while there is one page or none."""
    prev_id, current_id, next_id = pager_ids(scroll.id)

    def visible(data: dict[str, Any], widget: Any, manager: Any) -> bool:
        pages = lookup(data, scroll.pages)
        many = isinstance(pages, int) and pages > 1
        return many and (condition is None or holds(condition, data))

    return Row(
        PrevPage(scroll=scroll.id, id=prev_id, text=Const(PAGER_PREV_TEXT)),
        CurrentPage(scroll=scroll.id, id=current_id, text=Format(PAGER_CURRENT_TEXT)),
        NextPage(scroll=scroll.id, id=next_id, text=Const(PAGER_NEXT_TEXT)),
        when=visible,
    )
