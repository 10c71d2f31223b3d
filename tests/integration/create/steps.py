"""Walking a chat to a window of the create flow, the way a user would."""

from __future__ import annotations

from tests.integration.create.chat import Chat, Message, labels

GALLERY = "Browse with"
LOOK = "Change the look"
VOICES = "Listen to the sample"
SCRIPT = "Send the script"
TAKE = "The voice-over"
CONFIRM = "Total:"


def button(window: Message, starts: str) -> str:
    return next(b for b in labels(window) if b.startswith(starts))


async def to_look(chat: Chat, *, video_format: str = "🗣 Talking head") -> Message:
    await chat.tap("🎬 Create video", "Choose the format")
    await chat.tap(video_format, "Who will star")
    await chat.tap("👩 A woman", GALLERY)
    return await chat.tap("✅ Pick Anna", LOOK)


async def to_script(chat: Chat) -> Message:
    await to_look(chat)
    voices = await chat.tap("Keep this look →", VOICES)
    return await chat.tap(button(voices, "✅ Pick"), SCRIPT)


async def to_confirm(chat: Chat, script: str = "Hello! Meet our new face cream.") -> Message:
    await to_script(chat)
    await chat.say(script, TAKE)
    return await chat.tap("✅ Sounds good →", CONFIRM)
