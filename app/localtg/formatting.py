"""Telegram's text formatting: ``parse_mode`` markup → text + entities (UTF-16 offsets), and safe HTML back.

Error wordings and offsets follow TDLib's parsers (``can't parse entities: ...`` with byte offsets) so a bot's
markup bug fails here exactly as it would on Telegram.
"""

from __future__ import annotations

import html
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from app.localtg.errors import ApiError, bad_request

Entity = dict[str, Any]

_HTML_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SURROGATE_ERROR = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)
_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_SPACES = " \t\r\n"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8", "surrogatepass"))


def _parse_error(text: str) -> ApiError:
    return bad_request(f"can't parse entities: {text}")


@dataclass
class _Out:
    """Plain text being built, with its length in UTF-16 code units (entity offsets are UTF-16)."""

    parts: list[str] = field(default_factory=list)
    pos: int = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pos += utf16_len(chunk)

    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _Open:
    name: str
    offset: int
    byte_offset: int
    attrs: dict[str, str]
    language: str | None = None
    parts_at: int = 0


def _decode_html_entity(src: str, i: int) -> tuple[str, int]:
    n = len(src)
    j = i + 1
    if j < n and src[j] == "#":
        j += 1
        is_hex = j < n and src[j] in "xX"
        if is_hex:
            j += 1
        digits = "0123456789abcdefABCDEF" if is_hex else "0123456789"
        k = j
        while k < n and src[k] in digits:
            k += 1
        if k == j:
            return "&", i + 1
        code = int(src[j:k], 16 if is_hex else 10)
        if k < n and src[k] == ";":
            k += 1
        if 0xD800 <= code <= 0xDFFF:
            raise _parse_error(_SURROGATE_ERROR)
        if code == 0 or code > 0x10FFFF:
            return "&", i + 1
        return chr(code), k
    k = j
    while k < n and src[k].isascii() and src[k].isalpha():
        k += 1
    name = src[j:k]
    if name in _HTML_NAMED:
        if k < n and src[k] == ";":
            k += 1
        return _HTML_NAMED[name], k
    return "&", i + 1


def _decode_html_text(src: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(src):
        if src[i] == "&":
            chunk, i = _decode_html_entity(src, i)
            out.append(chunk)
        else:
            out.append(src[i])
            i += 1
    return "".join(out)


def _is_name_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "-_")


def _skip_spaces(src: str, i: int) -> int:
    while i < len(src) and src[i] in _SPACES:
        i += 1
    return i


def _read_start_tag(src: str, begin: int) -> tuple[str, dict[str, str], int]:  # noqa: PLR0912  # a tokenizer
    """Parse ``<name attr=value ...>`` at ``begin``; returns name, attributes and the index after ``>``."""
    n = len(src)
    at = _byte_offset(src, begin)
    j = begin + 1
    while j < n and _is_name_char(src[j]):
        j += 1
    name = src[begin + 1 : j].lower()
    if j >= n:
        raise _parse_error(f"Unclosed start tag at byte offset {at}")
    if name not in _HTML_TAGS:
        raise _parse_error(f'Unsupported start tag "{name}" at byte offset {at}')
    attrs: dict[str, str] = {}
    i = j
    while True:
        i = _skip_spaces(src, i)
        if i >= n:
            raise _parse_error(f'Unclosed start tag "{name}" at byte offset {at}')
        if src[i] == ">":
            return name, attrs, i + 1
        j = i
        while j < n and _is_name_char(src[j]):
            j += 1
        attr = src[i:j].lower()
        if not attr:
            raise _parse_error(f'Empty attribute name in the tag "{name}" at byte offset {at}')
        i = _skip_spaces(src, j)
        if i >= n:
            raise _parse_error(f'Unclosed start tag "{name}" at byte offset {at}')
        if src[i] != "=":
            attrs[attr] = ""
            continue
        i = _skip_spaces(src, i + 1)
        if i >= n:
            raise _parse_error(f'Unclosed start tag "{name}" at byte offset {at}')
        if src[i] in "\"'":
            end = src.find(src[i], i + 1)
            if end < 0:
                raise _parse_error(f"Unclosed start tag at byte offset {at}")
            attrs[attr] = _decode_html_text(src[i + 1 : end])
            i = end + 1
            continue
        j = i
        while j < n and src[j].isascii() and (src[j].isalnum() or src[j] in "-."):
            j += 1
        if j >= n or src[j] not in _SPACES + ">":
            raise _parse_error(f"Unexpected end of name token at byte offset {_byte_offset(src, i)}")
        attrs[attr] = src[i:j]
        i = j


_LINK_SCHEMES = {"http", "https", "tg", "ton", "mailto"}


def _normalize_url(url: str) -> str | None:
    """Telegram's link rules, roughly: no scheme means http; unknown schemes (javascript:) drop the link."""
    url = url.strip()
    if not url:
        return None
    scheme, colon, _ = url.partition(":")
    if not colon or "/" in scheme or "." in scheme:
        return "http://" + url
    return url if scheme.lower() in _LINK_SCHEMES else None


def _html_entity(tag: _Open, end: int) -> Entity | None:
    kind = _HTML_TAGS[tag.name]
    entity: Entity = {"type": kind, "offset": tag.offset, "length": end - tag.offset}
    if kind == "text_link":
        url = _normalize_url(tag.attrs.get("href", ""))
        if url is None:
            return None
        entity["url"] = url
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    elif kind == "pre" and tag.language:
        entity["language"] = tag.language
    elif kind == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def parse_html(src: str) -> tuple[str, list[Entity]]:  # noqa: PLR0912  # a tokenizer: a branch per syntax rule
    """Telegram's HTML subset → (text, entities)."""
    out = _Out()
    stack: list[_Open] = []
    entities: list[Entity] = []
    n = len(src)
    i = 0
    while i < n:
        c = src[i]
        if c == "&":
            chunk, i = _decode_html_entity(src, i)
            out.add(chunk)
            continue
        if c != "<":
            out.add(c)
            i += 1
            continue
        begin = i
        at = _byte_offset(src, begin)
        if i + 1 < n and src[i + 1] == "/":
            j = i + 2
            while j < n and _is_name_char(src[j]):
                j += 1
            name = src[i + 2 : j].lower()
            if not stack:
                raise _parse_error(f"Unexpected end tag at byte offset {at}")
            k = _skip_spaces(src, j)
            if k >= n or src[k] != ">":
                raise _parse_error(f"Unclosed end tag at byte offset {at}")
            top = stack[-1]
            if name and name != top.name:
                raise _parse_error(
                    f'Unmatched end tag at byte offset {at}, expected "</{top.name}>", found "</{name}>"'
                )
            stack.pop()
            i = k + 1
            language = top.attrs.get("class", "")
            if top.name == "code" and language.startswith("language-") and stack and stack[-1].name == "pre":
                stack[-1].language = language.removeprefix("language-") or None
                if stack[-1].language:
                    continue
            entity = _html_entity(top, out.pos)
            if entity is not None and entity["length"] > 0:
                entities.append(entity)
            continue
        name, attrs, i = _read_start_tag(src, begin)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        stack.append(_Open(name, out.pos, at, attrs))
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def _mdv2_reserved(c: str) -> ApiError:
    return _parse_error(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")


_MDV2_CLOSERS = {
    "bold": "*",
    "underline": "__",
    "strikethrough": "~",
    "spoiler": "||",
    "code": "`",
    "pre": "```",
    "pre_code": "```",
    "text_link": "]",
    "custom_emoji": "]",
}


def _mdv2_closes(kind: str, src: str, i: int) -> bool:
    if kind == "italic":
        return src[i] == "_" and src[i + 1 : i + 2] != "_"
    return src.startswith(_MDV2_CLOSERS[kind], i)


def parse_markdown_v2(src: str) -> tuple[str, list[Entity]]:
    """MarkdownV2 → (text, entities), following TDLib's ``parse_markdown_v2`` (block quotes simplified)."""
    out = _Out()
    stack: list[_Open] = []
    entities: list[Entity] = []
    quote_start: int | None = None
    n = len(src)
    i = 0
    while i < n:
        c = src[i]
        at_line_start = i == 0 or src[i - 1] == "\n"
        in_code = bool(stack) and stack[-1].name in ("code", "pre", "pre_code")
        if at_line_start and not in_code:
            if c == ">":
                if quote_start is None:
                    quote_start = out.pos
                i += 1
                continue
            if quote_start is not None:
                _close_quote(entities, quote_start, out)
                quote_start = None
        if c == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            out.add(src[i + 1])
            i += 2
            continue
        reserved = "`" if in_code else _MDV2_RESERVED
        if c not in reserved:
            out.add(c)
            i += 1
            continue
        if stack and _mdv2_closes(stack[-1].name, src, i):
            top = stack.pop()
            i = _mdv2_close(src, i, top, out, entities)
            continue
        i = _mdv2_open(src, i, c, out, stack)
    if stack:
        top = stack[-1]
        raise _parse_error(
            f"Can't find end of {_MDV2_NAMES[top.name]} entity at byte offset {top.byte_offset}"
        )
    if quote_start is not None:
        _close_quote(entities, quote_start, out)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def _close_quote(entities: list[Entity], start: int, out: _Out) -> None:
    text = out.text()
    end = out.pos - (1 if text.endswith("\n") else 0)
    if end > start:
        entities.append({"type": "blockquote", "offset": start, "length": end - start})


def _mdv2_open(src: str, i: int, c: str, out: _Out, stack: list[_Open]) -> int:
    at = _byte_offset(src, i)
    nxt = src[i + 1] if i + 1 < len(src) else ""
    language = None
    if c == "_":
        kind = "underline" if nxt == "_" else "italic"
        i += 2 if nxt == "_" else 1
    elif c == "*":
        kind, i = "bold", i + 1
    elif c == "~":
        kind, i = "strikethrough", i + 1
    elif c == "|" and nxt == "|":
        kind, i = "spoiler", i + 2
    elif c == "[":
        kind, i = "text_link", i + 1
    elif c == "!" and nxt == "[":
        kind, i = "custom_emoji", i + 2
    elif c == "`" and src.startswith("```", i):
        kind, i = "pre", i + 3
        end = i
        while end < len(src) and src[end] not in _SPACES + "`":
            end += 1
        if end != i and end < len(src) and src[end] != "`":
            kind, language, i = "pre_code", src[i:end], end
        if i < len(src) and src[i] in "\r\n":
            i += 2 if src[i + 1 : i + 2] in ("\r", "\n") and src[i + 1 : i + 2] != src[i] else 1
    elif c == "`":
        kind, i = "code", i + 1
    else:
        raise _mdv2_reserved(c)
    stack.append(_Open(kind, out.pos, at, {}, language, len(out.parts)))
    return i


def _mdv2_close(src: str, i: int, top: _Open, out: _Out, entities: list[Entity]) -> int:  # noqa: PLR0912  # per kind
    kind = top.name
    entity: Entity = {"type": "pre" if kind == "pre_code" else kind, "offset": top.offset}
    if kind in ("underline", "spoiler"):
        i += 2
    elif kind in ("pre", "pre_code"):
        i += 3
        if top.language:
            entity["language"] = top.language
    elif kind in ("text_link", "custom_emoji"):
        i += 1
        url = ""
        if src[i : i + 1] == "(":
            url_begin = i + 1
            j = url_begin
            chars: list[str] = []
            while j < len(src) and src[j] != ")":
                if src[j] == "\\" and j + 1 < len(src) and 0 < ord(src[j + 1]) <= 126:
                    chars.append(src[j + 1])
                    j += 2
                    continue
                chars.append(src[j])
                j += 1
            if j >= len(src):
                what = "a custom emoji URL" if kind == "custom_emoji" else "a URL"
                raise _parse_error(f"Can't find end of {what} at byte offset {_byte_offset(src, url_begin)}")
            url, i = "".join(chars), j + 1
        if kind == "custom_emoji":
            if not url.lower().startswith("tg://emoji"):
                raise _parse_error("Custom emoji entity must contain a tg://emoji URL")
            entity["custom_emoji_id"] = url.rsplit("id=", 1)[-1]
        else:
            normalized = _normalize_url(url or "".join(out.parts[top.parts_at :]))
            if normalized is None or ("." not in normalized and not normalized.startswith("tg:")):
                return i
            entity["url"] = normalized
    else:
        i += 1
    entity["length"] = out.pos - top.offset
    if entity["length"] > 0:
        entities.append(entity)
    return i


def parse_markdown(src: str) -> tuple[str, list[Entity]]:  # noqa: PLR0912, PLR0915  # mirrors TDLib's loop
    """Legacy Markdown → (text, entities), following TDLib's ``parse_markdown``."""
    out = _Out()
    entities: list[Entity] = []
    n = len(src)
    i = 0
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        at = _byte_offset(src, i)
        start = out.pos
        end_char = "]" if c == "[" else c
        is_pre = src.startswith("```", i)
        language = ""
        i += 3 if is_pre else 1
        if is_pre:
            end = i
            while end < n and src[end] not in _SPACES + "`":
                end += 1
            if end != i and end < n and src[end] != "`":
                language, i = src[i:end], end
            if i < n and src[i] in "\r\n":
                i += 1
        while i < n and (src[i] != end_char or (is_pre and not src.startswith("```", i))):
            out.add(src[i])
            i += 1
        if i >= n:
            raise _parse_error(f"Can't find end of the entity starting at byte offset {at}")
        length = out.pos - start
        entity: Entity = {"offset": start, "length": length}
        if c == "_":
            entity["type"] = "italic"
        elif c == "*":
            entity["type"] = "bold"
        elif c == "[":
            url = ""
            if src[i + 1 : i + 2] == "(":
                close = src.find(")", i + 2)
                if close >= 0:
                    url, i = src[i + 2 : close], close
            normalized = _normalize_url(url)
            if normalized is None:
                i += 1
                continue
            entity |= {"type": "text_link", "url": normalized}
        elif is_pre:
            entity["type"] = "pre"
            if language:
                entity["language"] = language
            i += 2
        else:
            entity["type"] = "code"
        i += 1
        if length > 0:
            entities.append(entity)
    return out.text(), entities


def _trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Telegram drops leading and trailing whitespace; entities are clipped to what is left."""
    stripped = text.strip(_SPACES)
    if stripped == text:
        return text, entities
    head = utf16_len(text[: len(text) - len(text.lstrip(_SPACES))])
    total = utf16_len(stripped)
    kept: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - head, 0)
        end = min(entity["offset"] + entity["length"] - head, total)
        if end > start:
            kept.append(entity | {"offset": start, "length": end - start})
    return stripped, kept


def _explicit_entities(raw: Any) -> list[Entity]:
    if raw is None or raw == "":
        return []
    value = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(value, list):
        raise bad_request("can't parse entities JSON object")
    result: list[Entity] = []
    for item in value:
        if not isinstance(item, dict) or "type" not in item or "offset" not in item or "length" not in item:
            raise bad_request('can\'t parse MessageEntity: Field "type" must be of type String')
        result.append(dict(item))
    return result


def parse_text(text: str, parse_mode: str | None, entities: Any = None) -> tuple[str, list[Entity]]:
    """Apply ``parse_mode`` (or explicit ``entities``) like Telegram, ``can't parse entities`` included."""
    mode = (parse_mode or "").lower()
    if text and mode and mode != "none":
        if mode == "html":
            plain, found = parse_html(text)
        elif mode == "markdownv2":
            plain, found = parse_markdown_v2(text)
        elif mode == "markdown":
            plain, found = parse_markdown(text)
        else:
            raise bad_request("unsupported parse_mode")
    else:
        try:
            plain, found = text, _explicit_entities(entities)
        except json.JSONDecodeError as exc:
            raise bad_request("can't parse entities JSON object") from exc
    return _trim(plain, found)


_HTML_FOR = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote>", "</blockquote>"),
}


def _open_tag(entity: Entity) -> str:
    kind = entity["type"]
    if kind == "text_link":
        return (
            f'<a href="{html.escape(str(entity.get("url", "")), quote=True)}" target="_blank" rel="noopener">'
        )
    if kind == "url":
        return '<a class="auto" target="_blank" rel="noopener">'
    return _HTML_FOR.get(kind, ("<span>", "</span>"))[0]


def _close_tag(entity: Entity) -> str:
    kind = entity["type"]
    if kind in ("text_link", "url"):
        return "</a>"
    return _HTML_FOR.get(kind, ("<span>", "</span>"))[1]


def to_html(text: str | None, entities: list[Entity] | None) -> str:
    """Escaped HTML for the web chat; crossing entities are closed and reopened to keep it well formed."""
    if not text:
        return ""
    units = text.encode("utf-16-le", "surrogatepass")
    total = len(units) // 2
    ordered = sorted(entities or [], key=lambda e: (e["offset"], -e["length"]))
    cuts = {0, total}
    for entity in ordered:
        cuts.update(
            {max(0, min(total, entity["offset"])), max(0, min(total, entity["offset"] + entity["length"]))}
        )
    points = sorted(cuts)
    out: list[str] = []
    stack: list[Entity] = []
    pending = list(ordered)
    for start, end in itertools.pairwise(points):
        ending = [e for e in stack if e["offset"] + e["length"] <= start]
        if ending:
            deepest = min(stack.index(e) for e in ending)
            for entity in reversed(stack[deepest:]):
                out.append(_close_tag(entity))
            reopen = [e for e in stack[deepest:] if e not in ending]
            stack = stack[:deepest]
            for entity in reopen:
                out.append(_open_tag(entity))
                stack.append(entity)
        while pending and pending[0]["offset"] <= start:
            entity = pending.pop(0)
            if entity["offset"] + entity["length"] > start:
                out.append(_open_tag(entity))
                stack.append(entity)
        chunk = units[start * 2 : end * 2].decode("utf-16-le", "surrogatepass")
        out.append(html.escape(chunk.encode("utf-8", "replace").decode("utf-8"), quote=False))
    for entity in reversed(stack):
        out.append(_close_tag(entity))
    return "".join(out)
