"""The control API: act as users (send, upload, click, pay), read chats, wait for the bot, inject faults."""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
import secrets
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.localtg.bot_api import BotApi
from app.localtg.calls import CallLog
from app.localtg.faults import FaultPlan
from app.localtg.files import KINDS, FileStore
from app.localtg.formatting import Entity
from app.localtg.forms import Form, read_multipart
from app.localtg.settings import Settings
from app.localtg.state import (
    CONTENT_KINDS,
    CallbackQuery,
    Charge,
    Chat,
    Media,
    Message,
    PreCheckout,
    State,
    User,
    now,
)

MAX_WAIT = 300.0
COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUser(_Body):
    id: int = Field(gt=0)
    first_name: str = Field(min_length=1, max_length=64)
    username: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{3,32}$")
    language_code: str | None = Field(default=None, max_length=10)
    last_name: str | None = Field(default=None, max_length=64)


class SendText(_Body):
    text: str = Field(min_length=1)
    reply_to: int | None = Field(None, description="message id in the chat this message replies to")
    entities: list[dict[str, Any]] = Field(
        default_factory=list, description="formatting as Bot API MessageEntity objects (bold, text_link…)"
    )


class Click(_Body):
    message_id: int
    button: str | None = None
    callback_data: str | None = None

    @model_validator(mode="after")
    def _one_locator(self) -> Click:
        if (self.button is None) == (self.callback_data is None):
            raise ValueError("give exactly one of button (the visible text) or callback_data")
        return self


class Pay(_Body):
    message_id: int


class Block(_Body):
    blocked: bool = True


class NewFault(_Body):
    method: str = Field(min_length=1)
    kind: Literal["429", "5xx", "error", "latency"]
    count: int = Field(default=1, ge=1)
    retry_after: int = Field(default=1, ge=1)
    status: int | None = Field(default=None, ge=400, le=599)
    description: str | None = None
    latency: float = Field(default=0.0, ge=0, le=120)


def _error(status: int, text: str, **extra: Any) -> web.HTTPException:
    exc_type = {400: web.HTTPBadRequest, 404: web.HTTPNotFound, 409: web.HTTPConflict}.get(
        status, web.HTTPBadRequest
    )
    return exc_type(text=_json({"error": text, **extra}), content_type="application/json")


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


BodyT = TypeVar("BodyT", bound=_Body)


async def _body(request: web.Request, model: type[BodyT]) -> BodyT:
    try:
        raw = await request.json()
    except ValueError as exc:
        raise _error(400, "the body must be a JSON object") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise _error(400, problems) from exc


def _guess_kind(file_name: str | None, content_type: str | None) -> str:
    mime = content_type or (mimetypes.guess_type(file_name)[0] if file_name else None) or ""
    if mime.startswith("image/") and mime != "image/gif":
        return "photo"
    if mime == "image/gif":
        return "animation"
    if mime.startswith("video/"):
        return "video"
    if mime.startswith("audio/ogg"):
        return "voice"
    if mime.startswith("audio/"):
        return "audio"
    return "document"


class Control:
    """Handlers of ``/control/*``; the web chat uses exactly these too."""

    def __init__(
        self,
        *,
        settings: Settings,
        state: State,
        files: FileStore,
        api: BotApi,
        calls: CallLog,
        faults: FaultPlan,
    ) -> None:
        self.settings = settings
        self.state = state
        self.files = files
        self.api = api
        self.calls = calls
        self.faults = faults

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/control/state", self.get_state),
            web.get("/control/users", self.list_users),
            web.post("/control/users", self.create_user),
            web.get("/control/users/{id}", self.get_user),
            web.post("/control/users/{id}/send", self.send),
            web.post("/control/users/{id}/upload", self.upload),
            web.post("/control/users/{id}/click", self.click),
            web.post("/control/users/{id}/pay", self.pay),
            web.post("/control/users/{id}/block", self.block),
            web.get("/control/users/{id}/messages", self.messages),
            web.get("/control/users/{id}/wait", self.wait),
            web.get("/control/callbacks/{id}", self.get_callback),
            web.get("/control/calls", self.list_calls),
            web.delete("/control/calls", self.clear_calls),
            web.get("/control/faults", self.list_faults),
            web.post("/control/faults", self.add_fault),
            web.delete("/control/faults", self.clear_faults),
            web.get("/control/updates", self.list_updates),
            web.get("/control/commands", self.list_commands),
            web.post("/control/reset", self.reset),
            web.get("/control/files/{file_unique_id}", self.download),
        ]

    # -- helpers ---
    def _chat(self, request: web.Request) -> Chat:
        try:
            user_id = int(request.match_info["id"])
        except ValueError as exc:
            raise _error(400, "user id must be a number") from exc
        chat = self.state.chats.get(user_id)
        if chat is None:
            raise _error(404, f"no user {user_id}: create it with POST /control/users first")
        return chat

    def _user_message(self, chat: Chat, message: Message) -> dict[str, Any]:
        """Put a user's message in the chat and queue the ``message`` update the bot will receive."""
        chat.started = True
        if chat.blocked:
            self._set_blocked(chat, False)
        chat.messages[message.message_id] = message
        change = self.state.record(chat.user.id, "message", message.message_id, by_bot=False)
        update_id = self.state.push_update("message", message.telegram(self.api.bot_user(), chat.user))
        return {"message_id": message.message_id, "change": change.number, "update_id": update_id}

    def _set_blocked(self, chat: Chat, blocked: bool) -> None:
        chat.blocked = blocked
        bot = self.api.bot_user()
        member = {"status": "member", "user": bot}
        kicked = {"status": "kicked", "user": bot, "until_date": 0}
        self.state.push_update(
            "my_chat_member",
            {
                "chat": chat.user.chat(),
                "from": chat.user.telegram(),
                "date": now(),
                "old_chat_member": member if blocked else kicked,
                "new_chat_member": kicked if blocked else member,
            },
        )
        self.state.record(chat.user.id, "blocked" if blocked else "unblocked", None, by_bot=False)

    def _bot_message(self, chat: Chat, message_id: int) -> Message:
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            state = "was deleted" if message is not None else "does not exist"
            raise _error(404, f"message {message_id} {state} in the chat with {chat.user.id}")
        if not message.from_bot:
            raise _error(400, f"message {message_id} was sent by the user, not the bot")
        return message

    # -- users ---
    async def get_state(self, request: web.Request) -> web.Response:
        hook = self.state.webhook
        return web.json_response(
            {
                "bot": self.api.bot_user(),
                "users": len(self.state.users),
                "change": self.state.change_number,
                "pending_updates": len(self.state.updates),
                "dropped_updates": len(self.state.dropped),
                "allowed_updates": sorted(self.state.allowed_updates),
                "webhook": None if hook is None else {"url": hook.url, "last_error": hook.last_error_message},
                "limits": {k: getattr(self.settings.limits, k) for k in self.settings.limits.__slots__},
            }
        )

    async def list_users(self, request: web.Request) -> web.Response:
        return web.json_response(
            [chat.user.public() | {"blocked": chat.blocked} for chat in self.state.chats.values()]
        )

    async def create_user(self, request: web.Request) -> web.Response:
        body = await _body(request, NewUser)
        user, created = self.state.add_user(
            User(body.id, body.first_name, body.username, body.language_code, body.last_name)
        )
        return web.json_response(user.public(), status=201 if created else 200)

    async def get_user(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        keyboard = chat.reply_keyboard["keyboard"] if chat.reply_keyboard else None
        return web.json_response(
            chat.user.public()
            | {"blocked": chat.blocked, "started": chat.started, "reply_keyboard": keyboard}
        )

    async def block(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        body = await _body(request, Block)
        if chat.blocked != body.blocked:
            self._set_blocked(chat, body.blocked)
        return web.json_response({"blocked": chat.blocked})

    # -- acting as a user ---
    async def send(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        body = await _body(request, SendText)
        text = body.text.strip()
        if not text:
            raise _error(400, "text is empty")
        if len(text) > self.settings.limits.text:
            raise _error(400, f"text is longer than {self.settings.limits.text} characters")
        entities: list[Entity] = [dict(e) for e in body.entities if isinstance(e.get("type"), str)]
        if match := COMMAND_RE.match(text):
            entities.append({"type": "bot_command", "offset": 0, "length": len(match.group(0))})
        keyboard = chat.reply_keyboard
        if keyboard and keyboard["one_time_keyboard"] and any(text in row for row in keyboard["keyboard"]):
            chat.reply_keyboard = None
        replied = None
        if body.reply_to is not None:
            replied = chat.messages.get(body.reply_to)
            if replied is None or replied.deleted:
                raise _error(400, f"message {body.reply_to} to reply to is not in the chat")
        message = Message(
            chat.new_message_id(), chat.user.id, False, now(), text=text, entities=entities, reply_to=replied
        )
        return web.json_response(self._user_message(chat, message))

    async def upload(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        if request.content_type != "multipart/form-data":
            raise _error(400, "send multipart/form-data with a `file` part (and `kind`, `caption`)")
        form = Form()
        try:
            await read_multipart(
                await request.multipart(), self.files, self.settings.limits.user_upload_bytes, form
            )
            upload = form.uploads.get("file")
            if form.too_large:
                raise _error(400, f"file is larger than {self.settings.limits.user_upload_bytes} bytes")
            if upload is None or upload.path is None or upload.size == 0:
                raise _error(400, "no `file` part, or it is empty")
            kind = str(form.values.get("kind") or _guess_kind(upload.filename, upload.content_type))
            if kind not in KINDS or kind == "sticker":
                raise _error(400, f"kind must be one of {', '.join(k for k in KINDS if k != 'sticker')}")
            caption = str(form.values.get("caption") or "").strip() or None
            if caption and len(caption) > self.settings.limits.caption:
                raise _error(400, f"caption is longer than {self.settings.limits.caption} characters")
            stored = await self.files.add(
                upload.path, kind=kind, file_name=upload.filename, mime_type=upload.content_type
            )
            upload.path = None
        finally:
            form.discard()
        probe = stored.probe
        media = Media(kind, stored, probe.width, probe.height, probe.duration)
        message = Message(chat.new_message_id(), chat.user.id, False, now(), caption=caption, media=media)
        result = self._user_message(chat, message)
        return web.json_response(
            result | {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        )

    async def click(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        body = await _body(request, Click)
        message = self._bot_message(chat, body.message_id)
        buttons = [b for row in (message.markup.inline or ()) for b in row] if message.markup else []
        if body.button is not None:
            found = [b for b in buttons if b["text"] == body.button]
            wanted = f"button {body.button!r}"
        else:
            found = [b for b in buttons if b.get("callback_data") == body.callback_data]
            wanted = f"button with callback_data {body.callback_data!r}"
        if not found:
            raise _error(
                404,
                f"no {wanted} in message {message.message_id}",
                buttons=[b["text"] for b in buttons],
            )
        button = found[0]
        if button.get("pay"):
            return web.json_response(await self._pay(chat, message))
        if "url" in button:
            return web.json_response({"url": button["url"], "callback_query_id": None})
        if "callback_data" not in button:
            raise _error(400, f"{wanted} is not a callback button: {sorted(button)}")
        chat.started = True
        query = CallbackQuery(
            id=str(secrets.randbelow(9 * 10**18) + 10**18),
            user_id=chat.user.id,
            message_id=message.message_id,
            data=str(button["callback_data"]),
            created=asyncio.get_running_loop().time(),
        )
        self.state.callbacks[query.id] = query
        change = self.state.record(chat.user.id, "click", message.message_id, by_bot=False, data=query.data)
        update_id = self.state.push_update(
            "callback_query",
            {
                "id": query.id,
                "from": chat.user.telegram(),
                "message": message.telegram(self.api.bot_user(), chat.user),
                "chat_instance": chat.chat_instance,
                "data": query.data,
            },
        )
        return web.json_response(
            {"callback_query_id": query.id, "change": change.number, "update_id": update_id}
        )

    async def pay(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        body = await _body(request, Pay)
        return web.json_response(await self._pay(chat, self._bot_message(chat, body.message_id)))

    async def _pay(self, chat: Chat, message: Message) -> dict[str, Any]:
        """Telegram's paid flow: pre_checkout_query, the bot's answer in time, then successful_payment."""
        if message.invoice is None:
            raise _error(400, f"message {message.message_id} is not an invoice")
        if message.paid:
            raise _error(409, f"invoice {message.message_id} is already paid")
        invoice = message.invoice
        payload = message.invoice_payload or ""
        done: asyncio.Future[tuple[bool, str | None]] = asyncio.get_running_loop().create_future()
        query = PreCheckout(
            str(secrets.randbelow(9 * 10**18) + 10**18),
            chat.user.id,
            message.message_id,
            invoice,
            payload,
            done,
        )
        self.state.pre_checkouts[query.id] = query
        chat.started = True
        self.state.record(chat.user.id, "pre_checkout", message.message_id, by_bot=False)
        update_id = self.state.push_update(
            "pre_checkout_query",
            {
                "id": query.id,
                "from": chat.user.telegram(),
                "currency": invoice["currency"],
                "total_amount": invoice["total_amount"],
                "invoice_payload": payload,
            },
        )
        try:
            ok, error_message = await asyncio.wait_for(
                asyncio.shield(done), self.settings.pre_checkout_timeout
            )
        except TimeoutError:
            done.cancel()
            reason = (
                f"the bot did not answer pre_checkout_query within {self.settings.pre_checkout_timeout:g} s"
            )
            if update_id is None:
                reason += " (the update was dropped: pre_checkout_query is not in the bot's allowed_updates)"
            return {"status": "timeout", "error": reason}
        except asyncio.CancelledError:
            return {"status": "cancelled", "error": "the server was reset"}
        if not ok:
            return {"status": "declined", "error_message": error_message}
        charge_id = "stxLOCAL" + secrets.token_urlsafe(24)
        payment = {
            "currency": invoice["currency"],
            "total_amount": invoice["total_amount"],
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": charge_id,
        }
        message.paid = True
        self.state.charges[charge_id] = Charge(
            charge_id, chat.user.id, invoice["currency"], invoice["total_amount"], payload
        )
        service = Message(chat.new_message_id(), chat.user.id, False, now(), successful_payment=payment)
        return {"status": "paid", "telegram_payment_charge_id": charge_id} | self._user_message(chat, service)

    # -- reading ---
    async def messages(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        origin = str(request.url.origin())
        views = [
            m.view(lambda f: f"{origin}/control/files/{f.file_unique_id}") for m in chat.messages.values()
        ]
        if request.query.get("deleted") == "0":
            views = [v for v in views if not v["deleted"]]
        response = web.json_response(views)
        response.headers["X-Change"] = str(self.state.change_number)
        return response

    async def wait(self, request: web.Request) -> web.Response:
        chat = self._chat(request)
        try:
            since = int(request.query.get("since", "0"))
            timeout = min(float(request.query.get("timeout", "10")), MAX_WAIT)
        except ValueError as exc:
            raise _error(400, "since must be an integer and timeout a number of seconds") from exc
        everything = request.query.get("all") == "1"
        kinds: frozenset[str] | None = CONTENT_KINDS
        if "kinds" in request.query:
            kinds = frozenset(k for k in request.query["kinds"].split(",") if k)
        if everything:
            kinds = None

        def found() -> list[dict[str, Any]]:
            changes = self.state.changes_after(chat.user.id, since, kinds, bot_only=not everything)
            return [c.public() for c in changes]

        ready = await self.state.wait_until(lambda: bool(found()), timeout)
        return web.json_response(
            {"change": self.state.change_number, "changes": found(), "timed_out": not ready}
        )

    async def get_callback(self, request: web.Request) -> web.Response:
        query = self.state.callbacks.get(request.match_info["id"])
        if query is None:
            raise _error(404, "no such callback query")
        return web.json_response(query.public())

    async def list_updates(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "pending": self.state.updates,
                "dropped": [{"kind": d.kind, "time": d.time, "reason": d.reason} for d in self.state.dropped],
            }
        )

    async def list_commands(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.commands)

    async def download(self, request: web.Request) -> web.StreamResponse:
        stored = self.files.by_unique_id(request.match_info["file_unique_id"])
        if stored is None or not stored.disk_path.exists():
            raise _error(404, "no such file")
        return web.FileResponse(stored.disk_path, headers={"Content-Type": stored.mime_type})

    # -- diagnostics ---
    async def list_calls(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError as exc:
            raise _error(400, "since must be an integer") from exc
        return web.json_response([r.public() for r in self.calls.select(request.query.get("method"), since)])

    async def clear_calls(self, request: web.Request) -> web.Response:
        self.calls.clear()
        return web.json_response({"ok": True})

    async def list_faults(self, request: web.Request) -> web.Response:
        return web.json_response([f.public() for f in self.faults.active()])

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _body(request, NewFault)
        try:
            fault = self.faults.add(
                method=body.method,
                kind=body.kind,
                count=body.count,
                retry_after=body.retry_after,
                status=body.status,
                description=body.description,
                latency=body.latency,
            )
        except ValueError as exc:
            raise _error(400, str(exc)) from exc
        return web.json_response(fault.public(), status=201)

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"ok": True})

    async def reset(self, request: web.Request) -> web.Response:
        self.state.reset()
        self.api.forget_files()
        self.files.clear()
        self.calls.clear()
        self.faults.clear()
        return web.json_response({"ok": True, "change": self.state.change_number})
