"""``reply_markup`` parsing and validation with Telegram's wordings (inline, reply keyboards, removal)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.localtg.errors import bad_request
from app.localtg.settings import Limits

Button = dict[str, Any]
_INLINE_KINDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_SCHEMES = {"http", "https", "tg", "ton"}


@dataclass(frozen=True, slots=True)
class Markup:
    """What a ``reply_markup`` asked for; at most one of the fields is set."""

    inline: tuple[tuple[Button, ...], ...] | None = None
    keyboard: dict[str, Any] | None = None
    remove_keyboard: bool = False
    force_reply: bool = False

    def inline_json(self) -> dict[str, Any] | None:
        if not self.inline:
            return None
        return {"inline_keyboard": [list(row) for row in self.inline]}


def _decode(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise bad_request("can't parse reply keyboard markup JSON object") from exc


def _inline_button(raw: Any, limits: Limits) -> Button:
    if not isinstance(raw, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    text = raw.get("text")
    if not isinstance(text, str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    button: Button = {"text": text}
    for kind in _INLINE_KINDS:
        value = raw.get(kind)
        if value is None or value == "":
            continue
        if kind == "callback_data":
            if not isinstance(value, str):
                raise bad_request(
                    'can\'t parse inline keyboard button: Field "callback_data" must be of type String'
                )
            if len(value.encode("utf-8")) > limits.callback_data_bytes:
                raise bad_request("BUTTON_DATA_INVALID")
        if kind == "url" and (
            not isinstance(value, str) or urlsplit(value).scheme.lower() not in _URL_SCHEMES
        ):
            raise bad_request("BUTTON_URL_INVALID")
        button[kind] = value
        return button
    raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")


def _reply_button(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, dict) and isinstance(raw.get("text"), str):
        return str(raw["text"])
    if isinstance(raw, dict):
        raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
    raise bad_request("can't parse keyboard button: KeyboardButton must be a String or an Object")


def parse_reply_markup(raw: Any, limits: Limits) -> Markup | None:
    """Parse ``reply_markup`` as Telegram does; ``None`` when absent or empty."""
    if raw is None or raw == "":
        return None
    value = _decode(raw)
    if not isinstance(value, dict):
        raise bad_request("object expected as reply markup")
    keyboard = value.get("keyboard")
    if keyboard is not None:
        if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
            raise bad_request('field "keyboard" must be an Array of Arrays')
        rows = [[_reply_button(button) for button in row] for row in keyboard]
        if any(rows):
            options = {
                "keyboard": rows,
                "one_time_keyboard": bool(value.get("one_time_keyboard")),
                "resize_keyboard": bool(value.get("resize_keyboard")),
                "is_persistent": bool(value.get("is_persistent")),
                "input_field_placeholder": value.get("input_field_placeholder") or "",
            }
            return Markup(keyboard=options)
    inline = value.get("inline_keyboard")
    if inline is not None:
        if not isinstance(inline, list) or not all(isinstance(row, list) for row in inline):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        rows_inline = tuple(tuple(_inline_button(button, limits) for button in row) for row in inline)
        if sum(len(row) for row in rows_inline) > limits.inline_buttons:
            raise bad_request("reply markup is too long")
        rows_inline = tuple(row for row in rows_inline if row)
        if rows_inline:
            return Markup(inline=rows_inline)
    if value.get("remove_keyboard") or value.get("hide_keyboard"):
        return Markup(remove_keyboard=True)
    if value.get("force_reply"):
        return Markup(force_reply=True)
    return None
