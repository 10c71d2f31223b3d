"""Message inputs: the limits declared in flows.yaml are checked here, before an action sees anything.

Every window takes every message. A window with ``input:`` checks the message against it (content kind, text
length, file size, duration, MIME type) and either hands the value on or replies with what is wrong; any
other window replies ``common.unexpected_input``. Either way a refused message leaves the state as it was,
and the dialog then shows the window again as a new message, so its buttons are at the bottom of the chat.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiogram.types import ContentType, Message
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.input import MessageInput

from dialogs import schema
from dialogs.i18n import TextCatalog
from dialogs.widgets import locale_of

UNEXPECTED_INPUT_KEY: Final = "common.unexpected_input"
BYTES_PER_MB: Final = 1024 * 1024
# Telegram re-encodes photos to JPEG and sends no MIME type for them.
PHOTO_MIME: Final = "image/jpeg"

_KINDS: Final[Mapping[str, schema.ContentKind]] = {
    ContentType.TEXT: "text",
    ContentType.PHOTO: "photo",
    ContentType.VIDEO: "video",
    ContentType.DOCUMENT: "document",
    ContentType.AUDIO: "audio",
    ContentType.VOICE: "voice",
}


@dataclass(frozen=True, slots=True)
class ReceivedMedia:
    """A file the user sent, as Telegram described it; ``ctx.value`` of an input action."""

    kind: schema.ContentKind
    file_id: str
    file_unique_id: str
    file_size: int | None = None
    mime_type: str | None = None
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    file_name: str | None = None
    caption: str | None = None
    """The text sent with the file (a photo's caption), if any."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message was refused, and the values its text is formatted with."""

    problem: schema.InputProblem
    values: Mapping[str, Any] = field(default_factory=dict)


InputValue = str | ReceivedMedia
OnValue = Callable[[Message, InputValue, DialogManager], Awaitable[None]]


def received_kind(message: Message) -> schema.ContentKind | None:
    """The content kind of a message; a video sent as a file is a ``document``, a sticker is none."""
    return _KINDS.get(message.content_type)


def received_media(message: Message, kind: schema.ContentKind) -> ReceivedMedia | None:
    """The file of a media message, or None when Telegram sent no file object."""
    if kind == "photo":
        if not message.photo:
            return None
        best = max(message.photo, key=lambda size: size.width * size.height)
        return ReceivedMedia(
            kind,
            best.file_id,
            best.file_unique_id,
            best.file_size,
            PHOTO_MIME,
            None,
            best.width,
            best.height,
            caption=message.caption,
        )
    # Video, Document, Audio and Voice share file_id/file_unique_id/file_size; the rest depends on the kind.
    file = getattr(message, kind, None)
    if file is None:
        return None
    return ReceivedMedia(
        kind=kind,
        file_id=file.file_id,
        file_unique_id=file.file_unique_id,
        file_size=file.file_size,
        mime_type=getattr(file, "mime_type", None),
        duration=getattr(file, "duration", None),
        width=getattr(file, "width", None),
        height=getattr(file, "height", None),
        file_name=getattr(file, "file_name", None),
        caption=message.caption,
    )


def mime_allowed(mime: str, allowed: list[str]) -> bool:
    """Whether ``mime`` is in ``allowed``; ``video/*`` style entries accept a whole major type."""
    mime = mime.lower()
    patterns = [p.lower() for p in allowed]
    return any(p == mime or (p.endswith("/*") and mime.startswith(p[:-1])) for p in patterns)


def _number(value: float) -> str:
    return f"{value:g}"


def check_input(spec: schema.Input, message: Message) -> InputValue | Rejection:
    """The value the action receives (text or ReceivedMedia), or why the message is refused."""
    kind = received_kind(message)
    if kind is None or kind not in spec.accept:
        return Rejection("wrong_kind")
    if kind == "text":
        return _check_text(spec, message.text or "")
    media = received_media(message, kind)
    if media is None:
        return Rejection("unreadable")
    return _check_media(spec, media)


def _check_text(spec: schema.Input, text: str) -> InputValue | Rejection:
    length = len(text)
    if spec.min_length is not None and length < spec.min_length:
        return Rejection("too_short", {"min": spec.min_length, "length": length})
    if spec.max_length is not None and length > spec.max_length:
        return Rejection("too_long", {"max": spec.max_length, "length": length})
    return text


def _check_media(spec: schema.Input, media: ReceivedMedia) -> InputValue | Rejection:
    if spec.mime and (media.mime_type is None or not mime_allowed(media.mime_type, spec.mime)):
        return Rejection("wrong_type", {"mime": media.mime_type or "?"})
    if (
        spec.max_mb is not None
        and media.file_size is not None
        and media.file_size > spec.max_mb * BYTES_PER_MB
    ):
        size_mb = media.file_size / BYTES_PER_MB
        return Rejection("too_big", {"max_mb": _number(spec.max_mb), "size_mb": f"{size_mb:.1f}"})
    if spec.max_seconds is not None and media.duration is not None and media.duration > spec.max_seconds:
        return Rejection(
            "too_long_media", {"max_seconds": _number(spec.max_seconds), "seconds": media.duration}
        )
    return media


def kind_names(kinds: list[schema.ContentKind], texts: TextCatalog, locale: str) -> str:
    """Kinds as a readable comma list; ``input.kind.<kind>`` texts name them when the catalog has them."""
    names = []
    for kind in kinds:
        key = f"input.kind.{kind}"
        known = texts.has(locale, key) or texts.has(texts.default_locale, key)
        names.append(texts.get(locale, key) if known else kind)
    return ", ".join(names)


def rejection_text(spec: schema.Input, rejection: Rejection, texts: TextCatalog, locale: str) -> str:
    """The reply for a refused message: the input's ``messages:`` override or ``input.<problem>``."""
    key = spec.messages.get(rejection.problem, f"input.{rejection.problem}")
    values: dict[str, Any] = {
        "accept": kind_names(spec.accept, texts, locale),
        "allowed": ", ".join(spec.mime),
        "min": spec.min_length,
        "max": spec.max_length,
        "max_mb": _number(spec.max_mb) if spec.max_mb is not None else None,
        "max_seconds": _number(spec.max_seconds) if spec.max_seconds is not None else None,
    }
    values.update(rejection.values)
    return texts.render(locale, key, values)


def checked_input(
    spec: schema.Input, texts: TextCatalog, default_locale: str, on_value: OnValue
) -> MessageInput:
    """A MessageInput taking every message: refused ones get a reply, accepted ones go to ``on_value``."""

    async def handle(message: Message, widget: Any, manager: DialogManager) -> None:
        result = check_input(spec, message)
        if isinstance(result, Rejection):
            await message.answer(rejection_text(spec, result, texts, locale_of(manager, default_locale)))
            return
        await on_value(message, result, manager)

    return MessageInput(handle, content_types=ContentType.ANY)


def unexpected_input(texts: TextCatalog, default_locale: str) -> MessageInput:
    """A MessageInput for windows that expect only taps: replies ``common.unexpected_input``."""

    async def handle(message: Message, widget: Any, manager: DialogManager) -> None:
        await message.answer(texts.render(locale_of(manager, default_locale), UNEXPECTED_INPUT_KEY, {}))

    return MessageInput(handle, content_types=ContentType.ANY)
