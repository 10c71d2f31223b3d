"""One user's chat with the bot through the local Telegram's control API: send, upload, tap, and wait for what
the bot shows — never sleeping, always waiting on the stand-in's change feed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.localtg import ControlClient

Message = dict[str, Any]


def shown(message: Message) -> str:
    return str(message["text"] or message["caption"] or "")


def labels(message: Message) -> list[str]:
    return [b["text"] for row in message["buttons"] for b in row]


def _visible(message: Message) -> str:
    """The text and the button labels: where a user reads what the bot says (a page counter is a button)."""
    return "\n".join([shown(message), *labels(message)])


def _look(message: Message) -> tuple[Any, ...]:
    """What the user sees of a message: a change in any of it is the bot's answer."""
    media = message["media"]["file_unique_id"] if message["media"] else None
    return (shown(message), media, str(message["buttons"]), message["deleted"])


def _only_lost_its_keyboard(before: tuple[Any, ...] | None, message: Message) -> bool:
    """An old window whose buttons the bot took away (a new window is on its way): not the answer itself."""
    if before is None or message["buttons"]:
        return False
    now = _look(message)
    return (now[0], now[1], now[3]) == (before[0], before[1], before[3]) and before[2] != now[2]


@dataclass
class Chat:
    tg: ControlClient
    user_id: int

    async def messages(self) -> list[Message]:
        return await self.tg.visible(self.user_id)

    async def window(self) -> Message:
        """The bot's last visible message: the window the user looks at."""
        return await self.tg.last_bot_message(self.user_id)

    async def _snapshot(self) -> dict[int, tuple[Any, ...]]:
        return {m["message_id"]: _look(m) for m in await self.messages() if m["from"] == "bot"}

    async def _after(
        self, change: int, before: dict[int, tuple[Any, ...]], expect: str, within: float | None = None
    ) -> Message:
        """The newest bot message, sent or changed since ``before``, that shows ``expect``."""

        def found(messages: list[Message]) -> Message | None:
            fresh = [
                m
                for m in messages
                if m["from"] == "bot"
                and before.get(m["message_id"]) != _look(m)
                and not _only_lost_its_keyboard(before.get(m["message_id"]), m)
                and expect in _visible(m)
            ]
            return fresh[-1] if fresh else None

        return await self.tg.wait_for(self.user_id, found, since=change, within=within)

    async def change(self) -> int:
        """The stand-in's change number now: what happens after it is what the bot does next."""
        return int((await self.tg.request("GET", "/control/state"))["change"])

    async def arrives(self, expect: str, *, since: int, within: float | None = None) -> Message:
        """A bot message sent or changed after change ``since`` that shows ``expect`` (from a job, say)."""
        return await self._after(since, {}, expect, within)

    async def below(self, message: Message, expect: str) -> Message:
        """A bot message sent after ``message`` that shows ``expect`` (a window shown again under a reply)."""

        def found(messages: list[Message]) -> Message | None:
            newer = [m for m in messages if m["from"] == "bot" and m["message_id"] > message["message_id"]]
            return next((m for m in reversed(newer) if expect in _visible(m)), None)

        return await self.tg.wait_for(self.user_id, found)

    async def say(self, text: str, expect: str) -> Message:
        """Send text; the bot's reply (or re-shown window) that shows ``expect``."""
        before = await self._snapshot()
        sent = await self.tg.send(self.user_id, text)
        return await self._after(sent["change"], before, expect)

    async def upload(self, data: bytes, *, kind: str, file_name: str, expect: str) -> Message:
        before = await self._snapshot()
        sent = await self.tg.upload(self.user_id, data, kind=kind, file_name=file_name)
        return await self._after(sent["change"], before, expect)

    async def tap(
        self, button: str, expect: str, *, on: Message | None = None, within: float | None = None
    ) -> Message:
        """Tap ``button`` on ``on`` (default: the current window); the window once it shows ``expect``."""
        message = on or await self.window()
        before = await self._snapshot()
        pressed = await self.tg.click(self.user_id, message["message_id"], button=button)
        return await self._after(pressed["change"], before, expect, within)

    async def press(self, callback_data: str, expect: str, *, on: Message | None = None) -> Message:
        """Send raw callback data, as a modified client could, from ``on`` (default: the current window)."""
        message = on or await self.window()
        before = await self._snapshot()
        pressed = await self.tg.click(self.user_id, message["message_id"], callback_data=callback_data)
        return await self._after(pressed["change"], before, expect)

    async def callback_data(self, button: str, on: Message | None = None) -> str:
        message = on or await self.window()
        for row in message["buttons"]:
            for item in row:
                if item["text"] == button:
                    return str(item["callback_data"])
        raise AssertionError(f"no button {button!r} in {labels(message)}")
