"""The Bot API methods: Telegram's limits and wordings first, then changes to the in-memory world."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from app.localtg.errors import NOT_MODIFIED, QUERY_INVALID, bad_request, conflict, forbidden
from app.localtg.files import FileStore, StoredFile
from app.localtg.formatting import Entity, parse_text
from app.localtg.forms import Form, Params, Upload
from app.localtg.markup import Markup, parse_reply_markup
from app.localtg.settings import Settings
from app.localtg.state import DEFAULT_ALLOWED, Chat, Media, Message, State, Webhook, now

CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
SEND_MEDIA = {
    "sendphoto": "photo",
    "sendvideo": "video",
    "sendaudio": "audio",
    "sendvoice": "voice",
    "senddocument": "document",
    "sendanimation": "animation",
    "sendvideonote": "video_note",
}
ALBUM_KINDS = {"photo", "video", "audio", "document"}
EDIT_MEDIA_KINDS = {"photo", "video", "animation", "audio", "document"}
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]*$")
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
# Telegram lets a video be re-sent as an animation and back; every other kind must match.
_INTERCHANGEABLE = {frozenset({"video", "animation"})}


@dataclass(frozen=True, slots=True)
class Reply:
    """A result with Telegram's optional ``description`` (setWebhook says "Webhook was set")."""

    result: Any
    description: str | None = None


Handler = Callable[[Params], Awaitable[Any]]


def _compatible(stored: str, wanted: str) -> bool:
    return stored == wanted or frozenset({stored, wanted}) in _INTERCHANGEABLE


def _same_markup(a: Markup | None, b: Markup | None) -> bool:
    return (a.inline_json() if a else None) == (b.inline_json() if b else None)


class BotApi:
    """Every supported method, looked up case-insensitively like Telegram does."""

    def __init__(self, settings: Settings, state: State, files: FileStore) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.state = state
        self.files = files
        self.http: aiohttp.ClientSession | None = None
        self._url_cache: dict[tuple[str, str], StoredFile] = {}
        self.methods: dict[str, Handler] = {
            "getme": self.get_me,
            "logout": self.true,
            "close": self.true,
            "getupdates": self.get_updates,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagecaption": self.edit_message_caption,
            "editmessagemedia": self.edit_message_media,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "deletemessages": self.delete_messages,
            "answercallbackquery": self.answer_callback_query,
            "sendchataction": self.send_chat_action,
            "sendmediagroup": self.send_media_group,
            "getfile": self.get_file,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "sendinvoice": self.send_invoice,
            "answerprecheckoutquery": self.answer_pre_checkout_query,
            "refundstarpayment": self.refund_star_payment,
            "getchat": self.get_chat,
        }
        for method, kind in SEND_MEDIA.items():
            self.methods[method] = self._media_sender(kind)

    def forget_files(self) -> None:
        """Drop the URL → file cache (the files themselves are about to be deleted)."""
        self._url_cache.clear()

    # -- shared pieces ---
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.settings.bot_id,
            "is_bot": True,
            "first_name": self.settings.bot_first_name,
            "username": self.settings.bot_username,
        }

    def chat_id_of(self, form: Form) -> int | None:
        """The chat a call is about, for the call log (None when absent or not a number)."""
        raw = form.values.get("chat_id", form.values.get("user_id"))
        try:
            return int(raw) if raw is not None else None
        except (TypeError, ValueError):
            return None

    def _chat(self, p: Params, *, must_be_started: bool = True) -> Chat:
        raw = p.text("chat_id")
        if not raw:
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except ValueError as exc:
            raise bad_request("chat not found") from exc
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if must_be_started and chat.blocked:
            raise forbidden("bot was blocked by the user")
        if must_be_started and not chat.started:
            raise forbidden("bot can't initiate conversation with a user")
        return chat

    def _message(self, chat: Chat, p: Params, missing: str) -> Message:
        if p.text("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        message_id = p.integer("message_id", invalid="message identifier is not specified")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request(missing)
        return message

    def _editable(self, chat: Chat, p: Params) -> Message:
        message = self._message(chat, p, "message to edit not found")
        if not message.from_bot or message.invoice is not None:
            raise bad_request("message can't be edited")
        return message

    def _text(self, p: Params) -> tuple[str, list[Entity]]:
        raw = p.text("text") or ""
        if not raw.strip():
            raise bad_request("message text is empty")
        text, entities = parse_text(raw, p.text("parse_mode"), p.raw("entities"))
        if not text:
            raise bad_request("message text is empty")
        if len(text) > self.limits.text:
            raise bad_request("message is too long")
        return text, entities

    def _caption(
        self, raw: str | None, parse_mode: str | None, entities: Any
    ) -> tuple[str | None, list[Entity]]:
        if not raw:
            return None, []
        caption, found = parse_text(raw, parse_mode, entities)
        if len(caption) > self.limits.caption:
            raise bad_request("message caption is too long")
        return caption or None, found

    def _markup(self, p: Params) -> Markup | None:
        return parse_reply_markup(p.raw("reply_markup"), self.limits)

    def _post(self, chat: Chat, message: Message) -> dict[str, Any]:
        chat.messages[message.message_id] = message
        if message.markup is not None and message.markup.keyboard is not None:
            chat.reply_keyboard = message.markup.keyboard
        elif message.markup is not None and message.markup.remove_keyboard:
            chat.reply_keyboard = None
        self.state.record(chat.user.id, "message", message.message_id, by_bot=True)
        return message.telegram(self.bot_user(), chat.user)

    def _edited(self, chat: Chat, message: Message) -> dict[str, Any]:
        message.edit_date = now()
        self.state.record(chat.user.id, "edited", message.message_id, by_bot=True)
        return message.telegram(self.bot_user(), chat.user)

    async def true(self, p: Params) -> bool:
        return True

    # -- files ---
    async def _input_file(self, p: Params, value: Any, field: str, kind: str) -> StoredFile:
        """A file argument: ``attach://part``, a part named like the field, a file_id or an HTTP URL."""
        upload: Upload | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = p.form.uploads.get(value.removeprefix("attach://"))
        elif value is None or value == "":
            upload = p.form.uploads.get(field)
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            return await self._from_url(value, kind)
        elif isinstance(value, str):
            stored = self.files.get(value)
            if stored is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if not _compatible(stored.kind, kind):
                raise bad_request("type of file mismatch")
            return stored
        if upload is None:
            raise bad_request(f"there is no {kind.replace('_', ' ')} in the request")
        return await self._store_upload(upload, kind)

    async def _store_upload(self, upload: Upload, kind: str) -> StoredFile:
        if kind in upload.stored:
            return upload.stored[kind]
        if upload.path is None or upload.size == 0:
            raise bad_request("file must be non-empty")
        if kind == "photo" and upload.size > self.limits.photo_upload_bytes:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        stored = await self.files.add(
            upload.path, kind=kind, file_name=upload.filename, mime_type=upload.content_type
        )
        upload.path = None
        upload.stored[kind] = stored
        self._check_photo(stored)
        return stored

    def _check_photo(self, stored: StoredFile) -> None:
        width, height = stored.probe.width, stored.probe.height
        if stored.kind != "photo" or not width or not height:
            return
        if width + height > self.limits.photo_side_sum or max(width, height) > self.limits.photo_ratio * min(
            width, height
        ):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")

    async def _from_url(self, url: str, kind: str) -> StoredFile:
        cached = self._url_cache.get((url, kind))
        if cached is not None:
            return cached
        limit = self.limits.url_photo_bytes if kind == "photo" else self.limits.url_file_bytes
        if self.http is None:
            raise bad_request("failed to get HTTP URL content")
        target = self.files.new_incoming_path()
        try:
            async with self.http.get(url, timeout=aiohttp.ClientTimeout(total=30)) as resp:
                if resp.status != 200:
                    raise bad_request("failed to get HTTP URL content")
                if kind == "photo" and not resp.content_type.startswith("image/"):
                    raise bad_request("wrong type of the web page content")
                size = 0
                with target.open("wb") as sink:
                    async for chunk in resp.content.iter_chunked(256 * 1024):
                        size += len(chunk)
                        if size > limit:
                            raise bad_request("failed to get HTTP URL content")
                        sink.write(chunk)
                name = urlsplit(url).path.rsplit("/", 1)[-1] or None
                stored = await self.files.add(target, kind=kind, file_name=name, mime_type=resp.content_type)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise bad_request("failed to get HTTP URL content") from exc
        finally:
            target.unlink(missing_ok=True)
        self._check_photo(stored)
        self._url_cache[(url, kind)] = stored
        return stored

    def _media(self, kind: str, stored: StoredFile, args: dict[str, Any]) -> Media:
        def given(name: str) -> int:
            try:
                return int(args.get(name) or 0)
            except (TypeError, ValueError):
                return 0

        probe = stored.probe
        length = given("length")
        return Media(
            kind=kind,
            file=stored,
            width=given("width") or length or probe.width,
            height=given("height") or length or probe.height,
            duration=given("duration") or probe.duration,
            performer=args.get("performer") or None,
            title=args.get("title") or None,
        )

    # -- identity, updates, webhook ---
    async def get_me(self, p: Params) -> dict[str, Any]:
        return self.bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, p: Params) -> list[dict[str, Any]]:
        state = self.state
        if state.webhook is not None:
            raise conflict(
                "can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first"
            )
        state.poll_generation += 1
        generation = state.poll_generation
        state.pulse()
        allowed = p.json("allowed_updates", invalid="can't parse allowed_updates JSON object")
        if isinstance(allowed, list):
            state.set_allowed_updates([str(kind) for kind in allowed])
        offset = p.integer("offset")
        if offset:
            state.confirm_updates(offset)
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.integer("timeout") or 0, 0)
        await state.wait_until(
            lambda: bool(state.updates) or state.poll_generation != generation or state.webhook is not None,
            timeout,
        )
        if state.webhook is not None:
            raise conflict("terminated by setWebhook request")
        if state.poll_generation != generation:
            raise conflict(
                "terminated by other getUpdates request; make sure that only one bot instance is running"
            )
        return state.updates[:limit]

    async def set_webhook(self, p: Params) -> Reply:
        url = p.text("url") or ""
        if not url:
            return await self.delete_webhook(p)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request("invalid webhook URL specified")
        if self.settings.strict_https_webhook and parts.scheme != "https":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.text("secret_token") or None
        if secret is not None and len(secret) > 256:
            raise bad_request("secret token is too long")
        if secret is not None and not SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = min(max(p.integer("max_connections") or 40, 1), 100)
        allowed = p.json("allowed_updates", invalid="can't parse allowed_updates JSON object")
        if isinstance(allowed, list):
            self.state.set_allowed_updates([str(kind) for kind in allowed])
        if p.flag("drop_pending_updates"):
            self.state.updates.clear()
        self.state.webhook = Webhook(url, secret, max_connections)
        self.state.pulse()
        return Reply(True, "Webhook was set")

    async def delete_webhook(self, p: Params) -> Reply:
        if p.flag("drop_pending_updates"):
            self.state.updates.clear()
        had = self.state.webhook is not None
        self.state.webhook = None
        self.state.pulse()
        return Reply(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def get_webhook_info(self, p: Params) -> dict[str, Any]:
        hook = self.state.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        if self.state.allowed_updates != DEFAULT_ALLOWED:
            info["allowed_updates"] = sorted(self.state.allowed_updates)
        return info

    # -- sending ---
    async def send_message(self, p: Params) -> dict[str, Any]:
        chat = self._chat(p)
        text, entities = self._text(p)
        markup = self._markup(p)
        message = Message(
            chat.new_message_id(),
            chat.user.id,
            True,
            now(),
            text=text,
            entities=entities,
            markup=markup,
            protected=p.flag("protect_content"),
        )
        return self._post(chat, message)

    def _media_sender(self, kind: str) -> Handler:
        async def send(p: Params) -> dict[str, Any]:
            chat = self._chat(p)
            caption, caption_entities = self._caption(
                p.text("caption"), p.text("parse_mode"), p.raw("caption_entities")
            )
            markup = self._markup(p)
            stored = await self._input_file(p, p.raw(kind), kind, kind)
            message = Message(
                chat.new_message_id(),
                chat.user.id,
                True,
                now(),
                caption=caption,
                caption_entities=caption_entities,
                media=self._media(kind, stored, p.form.values),
                markup=markup,
                protected=p.flag("protect_content"),
            )
            return self._post(chat, message)

        return send

    async def send_media_group(self, p: Params) -> list[dict[str, Any]]:
        chat = self._chat(p)
        items = p.json("media", invalid="can't parse media JSON object")
        if not isinstance(items, list):
            raise bad_request("expected an Array of InputMedia")
        if not items:
            raise bad_request("there are no messages to send")
        if len(items) > self.limits.media_group_max:
            raise bad_request("too many messages to send as an album")
        kinds = []
        for item in items:
            if not isinstance(item, dict) or item.get("type") not in ALBUM_KINDS:
                raise bad_request("can't parse InputMedia: unsupported media type specified")
            kinds.append(item["type"])
        families = {"document" if k == "document" else "audio" if k == "audio" else "visual" for k in kinds}
        if len(families) > 1:
            raise bad_request("can't use the media of the specified type in the album")
        prepared = []
        for item in items:
            shown = self._caption(item.get("caption"), item.get("parse_mode"), item.get("caption_entities"))
            stored = await self._input_file(p, item.get("media"), "", item["type"])
            prepared.append((item, shown, stored))
        group_id = str(secrets.randbelow(10**17) + 10**17)
        sent = []
        for item, (caption, caption_entities), stored in prepared:
            message = Message(
                chat.new_message_id(),
                chat.user.id,
                True,
                now(),
                caption=caption,
                caption_entities=caption_entities,
                media=self._media(item["type"], stored, item),
                media_group_id=group_id,
                protected=p.flag("protect_content"),
            )
            sent.append(self._post(chat, message))
        return sent

    # -- editing and deleting ---
    async def edit_message_text(self, p: Params) -> dict[str, Any]:
        chat = self._chat(p)
        message = self._editable(chat, p)
        if message.media is not None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._text(p)
        markup = self._markup(p)
        if text == message.text and entities == message.entities and _same_markup(markup, message.markup):
            raise bad_request(NOT_MODIFIED)
        message.text, message.entities, message.markup = text, entities, markup
        return self._edited(chat, message)

    async def edit_message_caption(self, p: Params) -> dict[str, Any]:
        chat = self._chat(p)
        message = self._editable(chat, p)
        if message.media is None:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._caption(p.text("caption"), p.text("parse_mode"), p.raw("caption_entities"))
        markup = self._markup(p)
        if (
            caption == message.caption
            and entities == message.caption_entities
            and _same_markup(markup, message.markup)
        ):
            raise bad_request(NOT_MODIFIED)
        message.caption, message.caption_entities, message.markup = caption, entities, markup
        return self._edited(chat, message)

    async def edit_message_media(self, p: Params) -> dict[str, Any]:
        chat = self._chat(p)
        message = self._editable(chat, p)
        # Bot API 7.x and later: editMessageMedia also adds media to a text message (the text is replaced).
        if message.media is None and message.text is None:
            raise bad_request("there is no media in the message to edit")
        if message.media is not None and message.media.kind in ("voice", "video_note", "sticker"):
            raise bad_request("message can't be edited")
        item = p.json("media", invalid="can't parse InputMedia JSON object")
        if not isinstance(item, dict):
            raise bad_request("can't parse InputMedia JSON object")
        kind = item.get("type")
        if kind not in EDIT_MEDIA_KINDS:
            raise bad_request("can't parse InputMedia: unsupported media type specified")
        caption, entities = self._caption(
            item.get("caption"), item.get("parse_mode"), item.get("caption_entities")
        )
        markup = self._markup(p)
        stored = await self._input_file(p, item.get("media"), "", kind)
        media = self._media(kind, stored, item)
        if (
            media.same_as(message.media)
            and caption == message.caption
            and entities == message.caption_entities
            and _same_markup(markup, message.markup)
        ):
            raise bad_request(NOT_MODIFIED)
        message.media, message.caption, message.caption_entities, message.markup = (
            media,
            caption,
            entities,
            markup,
        )
        message.text, message.entities = None, []
        return self._edited(chat, message)

    async def edit_message_reply_markup(self, p: Params) -> dict[str, Any]:
        chat = self._chat(p)
        message = self._editable(chat, p)
        markup = self._markup(p)
        if _same_markup(markup, message.markup):
            raise bad_request(NOT_MODIFIED)
        message.markup = markup
        return self._edited(chat, message)

    async def delete_message(self, p: Params) -> bool:
        chat = self._chat(p)
        message = self._message(chat, p, "message to delete not found")
        self._delete(chat, message)
        return True

    async def delete_messages(self, p: Params) -> bool:
        chat = self._chat(p)
        ids = p.json("message_ids", invalid="can't parse message identifiers JSON object")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        if len(ids) > 100:
            raise bad_request("too many message identifiers specified")
        for message_id in ids:
            message = chat.messages.get(int(message_id))
            if message is not None and not message.deleted:
                self._delete(chat, message)
        return True

    def _delete(self, chat: Chat, message: Message) -> None:
        message.deleted = True
        self.state.record(chat.user.id, "deleted", message.message_id, by_bot=True)

    # -- callbacks and chat actions ---
    async def answer_callback_query(self, p: Params) -> bool:
        query = self.state.callbacks.get(p.text("callback_query_id") or "")
        if query is None or query.answered:
            raise bad_request(QUERY_INVALID)
        query.answered = True
        query.answer = {
            "text": p.text("text"),
            "show_alert": p.flag("show_alert"),
            "url": p.text("url"),
            "cache_time": p.integer("cache_time") or 0,
        }
        self.state.record(
            query.user_id,
            "callback_answer",
            query.message_id,
            by_bot=True,
            callback_query_id=query.id,
            **query.answer,
        )
        return True

    async def send_chat_action(self, p: Params) -> bool:
        chat = self._chat(p)
        action = p.text("action") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.state.record(chat.user.id, "chat_action", None, by_bot=True, action=action)
        return True

    # -- files, commands, chats ---
    async def get_file(self, p: Params) -> dict[str, Any]:
        file_id = p.text("file_id")
        if not file_id:
            raise bad_request("file_id not specified")
        stored = self.files.get(file_id)
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if stored.size > self.limits.download_bytes:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    def _commands_key(self, p: Params) -> str:
        scope = p.json("scope", invalid="can't parse BotCommandScope JSON object") or {}
        kind = scope.get("type", "default") if isinstance(scope, dict) else "default"
        if isinstance(scope, dict) and "chat_id" in scope:  # a chat's own menu: "chat:<id>:<language>"
            kind = f"{kind}:{scope['chat_id']}"
        return f"{kind}:{p.text('language_code') or ''}"

    async def set_my_commands(self, p: Params) -> bool:
        commands = p.json("commands", invalid="can't parse commands JSON object")
        if not isinstance(commands, list):
            raise bad_request("expected an Array of BotCommand")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("expected an Array of BotCommand")
            name = str(command.get("command", "")).removeprefix("/").lower()
            description = str(command.get("description", ""))
            if not COMMAND_RE.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        self.state.commands[self._commands_key(p)] = cleaned
        return True

    async def get_my_commands(self, p: Params) -> list[dict[str, Any]]:
        return self.state.commands.get(self._commands_key(p), [])

    async def delete_my_commands(self, p: Params) -> bool:
        self.state.commands.pop(self._commands_key(p), None)
        return True

    async def get_chat(self, p: Params) -> dict[str, Any]:
        chat = self._chat(p, must_be_started=False)
        return chat.user.chat() | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    # -- payments ---
    def _invoice_total(self, p: Params, currency: str, provider_token: str) -> int:
        if len(currency) != 3:
            raise bad_request("CURRENCY_INVALID")
        prices = p.json("prices", invalid="can't parse prices JSON object")
        if not isinstance(prices, list):
            raise bad_request("expected an Array of labeled prices")
        if not prices:
            raise bad_request("there must be at least one price")
        total = 0
        for price in prices:
            if not isinstance(price, dict):
                raise bad_request("labeledPrice must be an Object")
            if not price.get("label"):
                raise bad_request("labeledPrice label must be non-empty")
            try:
                total += int(price.get("amount", 0))
            except (TypeError, ValueError) as exc:
                raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID") from exc
        if currency == "XTR":
            if provider_token:
                raise bad_request("PAYMENT_PROVIDER_INVALID")
            if len(prices) != 1 or not 1 <= total <= 100_000:
                raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        elif not provider_token:
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        if total <= 0:
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        return total

    async def send_invoice(self, p: Params) -> dict[str, Any]:
        chat = self._chat(p)
        title, description = p.text("title") or "", p.text("description") or ""
        payload, currency = p.text("payload") or "", (p.text("currency") or "").upper()
        provider_token = p.text("provider_token") or ""
        if not 1 <= len(title) <= 32:
            raise bad_request("TITLE_INVALID")
        if not 1 <= len(description) <= 255:
            raise bad_request("DESCRIPTION_INVALID")
        if not 1 <= len(payload.encode()) <= 128:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        total = self._invoice_total(p, currency, provider_token)
        markup = self._markup(p)
        if markup is None or not markup.inline:
            label = f"Pay ⭐️{total}" if currency == "XTR" else f"Pay {total / 100:.2f} {currency}"
            markup = Markup(inline=(({"text": label, "pay": True},),))
        elif not markup.inline[0] or not markup.inline[0][0].get("pay"):
            raise bad_request("REPLY_MARKUP_BUY_EMPTY")
        invoice = {
            "title": title,
            "description": description,
            "start_parameter": p.text("start_parameter") or "",
            "currency": currency,
            "total_amount": total,
        }
        message = Message(chat.new_message_id(), chat.user.id, True, now(), invoice=invoice, markup=markup)
        message.invoice_payload = payload
        return self._post(chat, message)

    async def answer_pre_checkout_query(self, p: Params) -> bool:
        query = self.state.pre_checkouts.get(p.text("pre_checkout_query_id") or "")
        if query is None or query.done.done():
            raise bad_request(QUERY_INVALID)
        ok = p.flag("ok")
        error_message = p.text("error_message")
        if not ok and not error_message:
            raise bad_request("error_message is empty")
        query.done.set_result((ok, None if ok else error_message))
        return True

    async def refund_star_payment(self, p: Params) -> bool:
        charge = self.state.charges.get(p.text("telegram_payment_charge_id") or "")
        user_id = p.integer("user_id", invalid="invalid user_id specified")
        if charge is None or charge.user_id != user_id:
            raise bad_request("CHARGE_NOT_FOUND")
        if charge.refunded:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        charge.refunded = True
        self.state.record(charge.user_id, "refund", None, by_bot=True, telegram_payment_charge_id=charge.id)
        return True
