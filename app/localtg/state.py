"""The whole in-memory world of the stand-in: users, chats, messages, the update queue and the change log.

Every mutation is synchronous (no ``await`` inside), so one event loop needs no locks; waiters (getUpdates,
the webhook loop, ``/wait``) sleep on a pulse that each change fires.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.localtg.files import StoredFile
from app.localtg.formatting import Entity, to_html
from app.localtg.markup import Markup

UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
# Telegram's default when allowed_updates was never given (or given as []): all but these three.
DEFAULT_ALLOWED = frozenset(UPDATE_TYPES) - {"chat_member", "message_reaction", "message_reaction_count"}
# What ``/wait`` waits for unless asked otherwise: the bot changed what the person sees.
CONTENT_KINDS = frozenset({"message", "edited", "deleted"})


def now() -> int:
    return int(time.time())


@dataclass(slots=True)
class User:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    last_name: str | None = None

    def telegram(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data

    def chat(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "username": self.username,
            "language_code": self.language_code,
        }


@dataclass(slots=True)
class Media:
    """A file shown in a message as a given kind, with the sizes Telegram reports for it."""

    kind: str
    file: StoredFile
    width: int = 0
    height: int = 0
    duration: int = 0
    performer: str | None = None
    title: str | None = None

    def telegram(self) -> Any:
        f = self.file
        base: dict[str, Any] = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": f.size}
        if self.kind == "photo":
            return [base | {"width": self.width, "height": self.height}]
        if self.kind in ("video", "animation"):
            base |= {
                "width": self.width,
                "height": self.height,
                "duration": self.duration,
                "mime_type": f.mime_type,
            }
        elif self.kind == "video_note":
            base |= {"length": min(self.width, self.height) or self.width, "duration": self.duration}
        elif self.kind in ("audio", "voice"):
            base |= {"duration": self.duration, "mime_type": f.mime_type}
            if self.kind == "audio":
                base |= {k: v for k, v in (("performer", self.performer), ("title", self.title)) if v}
        elif self.kind == "document":
            base["mime_type"] = f.mime_type
        if f.file_name and self.kind in ("video", "animation", "audio", "document"):
            base["file_name"] = f.file_name
        return base

    def same_as(self, other: Media | None) -> bool:
        return (
            other is not None
            and other.kind == self.kind
            and other.file.file_unique_id == self.file.file_unique_id
        )


@dataclass(slots=True)
class Message:
    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str | None = None
    entities: list[Entity] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[Entity] = field(default_factory=list)
    media: Media | None = None
    markup: Markup | None = None
    invoice: dict[str, Any] | None = None
    invoice_payload: str | None = None
    successful_payment: dict[str, Any] | None = None
    media_group_id: str | None = None
    protected: bool = False
    edit_date: int | None = None
    deleted: bool = False
    paid: bool = False
    reply_to: Message | None = None

    def telegram(self, bot: dict[str, Any], user: User, *, nested: bool = False) -> dict[str, Any]:
        """The Bot API Message; a replied-to message (``nested``) has no reply of its own, as in Telegram."""
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "from": bot if self.from_bot else user.telegram(),
            "chat": user.chat(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.media_group_id:
            data["media_group_id"] = self.media_group_id
        if self.protected:
            data["has_protected_content"] = True
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.media is not None:
            data[self.media.kind] = self.media.telegram()
        if self.reply_to is not None and not nested:
            data["reply_to_message"] = self.reply_to.telegram(bot, user, nested=True)
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.invoice is not None:
            data["invoice"] = self.invoice
        if self.successful_payment is not None:
            data["successful_payment"] = self.successful_payment
        if self.markup is not None and (inline := self.markup.inline_json()):
            data["reply_markup"] = inline
        return data

    def view(self, file_url: Callable[[StoredFile], str]) -> dict[str, Any]:
        """The control API's flat picture of the message (what a person would see)."""
        media = None
        if self.media is not None:
            f = self.media.file
            media = {
                "kind": self.media.kind,
                "file_id": f.file_id,
                "file_unique_id": f.file_unique_id,
                "url": file_url(f),
                "mime_type": f.mime_type,
                "file_size": f.size,
                "file_name": f.file_name,
                "duration": self.media.duration,
                "width": self.media.width,
                "height": self.media.height,
            }
        buttons = [list(row) for row in self.markup.inline] if self.markup and self.markup.inline else []
        keyboard = self.markup.keyboard if self.markup and self.markup.keyboard else None
        shown = self.text if self.text is not None else self.caption
        shown_entities = self.entities if self.text is not None else self.caption_entities
        return {
            "message_id": self.message_id,
            "from": "bot" if self.from_bot else "user",
            "date": self.date,
            "text": self.text,
            "caption": self.caption,
            "html": to_html(shown, shown_entities),
            "media": media,
            "buttons": buttons,
            "reply_keyboard": keyboard["keyboard"] if keyboard else None,
            "invoice": self.invoice,
            "paid": self.paid,
            "payment": self.successful_payment,
            "media_group_id": self.media_group_id,
            "edited": self.edit_date is not None,
            "deleted": self.deleted,
        }


@dataclass(slots=True)
class Chat:
    user: User
    messages: dict[int, Message] = field(default_factory=dict)
    next_message_id: int = 1
    started: bool = False
    blocked: bool = False
    reply_keyboard: dict[str, Any] | None = None
    chat_instance: str = field(default_factory=lambda: str(secrets.randbelow(10**18)))

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass(slots=True)
class Change:
    number: int
    chat_id: int
    kind: str
    message_id: int | None
    by_bot: bool
    time: float
    data: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {
            "change": self.number,
            "chat_id": self.chat_id,
            "kind": self.kind,
            "message_id": self.message_id,
            "by": "bot" if self.by_bot else "user",
            "time": self.time,
            **self.data,
        }


@dataclass(slots=True)
class CallbackQuery:
    id: str
    user_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    answer: dict[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        return {
            "callback_query_id": self.id,
            "user_id": self.user_id,
            "message_id": self.message_id,
            "callback_data": self.data,
            "answered": self.answered,
            "answer": self.answer,
        }


@dataclass(slots=True)
class PreCheckout:
    id: str
    user_id: int
    message_id: int
    invoice: dict[str, Any]
    payload: str
    done: asyncio.Future[tuple[bool, str | None]]


@dataclass(slots=True)
class Charge:
    id: str
    user_id: int
    currency: str
    total_amount: int
    payload: str
    refunded: bool = False


@dataclass(slots=True)
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(slots=True)
class DroppedUpdate:
    kind: str
    time: float
    reason: str


class State:
    """Users, chats, updates and the change log of one server."""

    def __init__(self) -> None:
        self._pulse = asyncio.Event()
        self.closing = False
        # Numbers keep growing across resets: a bot's getUpdates offset and a /wait ``since`` stay valid.
        self.next_update_id = 100_000_001
        self.change_number = 0
        self._fresh()

    def _fresh(self) -> None:
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.updates: list[dict[str, Any]] = []
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED
        self.dropped: list[DroppedUpdate] = []
        self.changes: list[Change] = []
        self.callbacks: dict[str, CallbackQuery] = {}
        self.pre_checkouts: dict[str, PreCheckout] = {}
        self.charges: dict[str, Charge] = {}
        self.webhook: Webhook | None = None
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.poll_generation = 0

    # -- waking up waiters ---
    def pulse(self) -> None:
        """Wake every waiter; they re-check their condition."""
        self._pulse.set()
        self._pulse = asyncio.Event()

    async def wait_until(self, ready: Callable[[], bool], within: float) -> bool:
        """Sleep until ``ready()`` holds or ``within`` seconds pass; returns ``ready()``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not ready():
            if self.closing:
                return False
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            pulse = self._pulse
            try:
                await asyncio.wait_for(pulse.wait(), remaining)
            except TimeoutError:
                return ready()
        return True

    # -- users and chats ---
    def add_user(self, user: User) -> tuple[User, bool]:
        """Create (or update the names of) a user; the private chat id equals the user id."""
        existing = self.users.get(user.id)
        if existing is not None:
            existing.first_name = user.first_name
            existing.username = user.username
            existing.language_code = user.language_code
            existing.last_name = user.last_name
            return existing, False
        self.users[user.id] = user
        self.chats[user.id] = Chat(user)
        return user, True

    # -- change log ---
    def record(self, chat_id: int, kind: str, message_id: int | None, *, by_bot: bool, **data: Any) -> Change:
        self.change_number += 1
        change = Change(self.change_number, chat_id, kind, message_id, by_bot, time.time(), data)
        self.changes.append(change)
        self.pulse()
        return change

    def changes_after(
        self, chat_id: int, since: int, kinds: frozenset[str] | None, *, bot_only: bool = True
    ) -> list[Change]:
        """Changes in one chat after ``since``; ``kinds`` None means every kind."""
        return [
            c
            for c in self.changes
            if c.number > since
            and c.chat_id == chat_id
            and (c.by_bot or not bot_only)
            and (kinds is None or c.kind in kinds)
        ]

    # -- updates ---
    def push_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update unless ``allowed_updates`` excludes it (then it is dropped, like Telegram does)."""
        if kind not in self.allowed_updates:
            self.dropped.append(DroppedUpdate(kind, time.time(), "not in allowed_updates"))
            return None
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates.append({"update_id": update_id, kind: payload})
        self.pulse()
        return update_id

    def confirm_updates(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps only the last ``-offset`` ones."""
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def set_allowed_updates(self, kinds: list[str] | None) -> None:
        if kinds is None:
            return
        chosen = frozenset(k for k in kinds if k in UPDATE_TYPES)
        self.allowed_updates = chosen or DEFAULT_ALLOWED
        kept = [u for u in self.updates if next(k for k in u if k != "update_id") in self.allowed_updates]
        for update in self.updates:
            if update not in kept:
                kind = next(k for k in update if k != "update_id")
                self.dropped.append(DroppedUpdate(kind, time.time(), "not in allowed_updates"))
        self.updates = kept

    def close(self) -> None:
        """The server is stopping: every waiter returns now instead of holding the shutdown up."""
        self.closing = True
        self.pulse()

    def reset(self) -> None:
        """Forget everything; current waiters wake up and see the emptiness."""
        for pre in self.pre_checkouts.values():
            if not pre.done.done():
                pre.done.cancel()
        self._fresh()
        self.pulse()
