"""The character gallery (U7): one actor per page with "N / M", forged buttons refused, pages clamped; photos
uploaded once and then re-sent by file_id, by any bot process sharing the Redis (issue 4 §6)."""

from __future__ import annotations

from typing import Any

from tests.integration.create.chat import Chat, labels, shown
from tests.integration.create.conftest import BotStarter, RunningBot
from tests.support.localtg import ControlClient

GALLERY = "Browse with"
FEMALE_ACTORS = 6


async def open_gallery(chat: Chat) -> dict[str, Any]:
    await chat.tap("🎬 Create video", "Choose the format")
    await chat.tap("🗣 Talking head", "Who will star")
    return await chat.tap("👩 A woman", GALLERY)


def counter(window: dict[str, Any]) -> str:
    return next(b for b in labels(window) if " / " in b)


async def uploads(tg: ControlClient, since: int) -> list[dict[str, Any]]:
    """Bot API calls since call ``since`` that carried a file part (an upload), photos and voices alike."""
    return [c for c in await tg.calls() if c["n"] > since and c["files"]]


async def last_call(tg: ControlClient) -> int:
    calls = await tg.calls()
    return int(calls[-1]["n"]) if calls else 0


async def test_one_actor_per_page_with_a_counter_and_a_pick(bot: RunningBot) -> None:
    chat = await bot.chat()
    first = await open_gallery(chat)
    assert first["media"]["kind"] == "photo"
    assert shown(first).startswith("Anna, 23")
    assert counter(first) == f"1 / {FEMALE_ACTORS}"

    second = await chat.tap("▶️", f"2 / {FEMALE_ACTORS}")
    assert second["media"]["file_unique_id"] != first["media"]["file_unique_id"]
    name = shown(second).split(",")[0]
    picked = await chat.tap(f"✅ Pick {name}", "Change the look")
    assert shown(picked).startswith(name)


async def test_a_forged_pick_of_a_character_that_does_not_exist(bot: RunningBot) -> None:
    chat = await bot.chat()
    gallery = await open_gallery(chat)
    real = await chat.callback_data("✅ Pick Anna", gallery)

    await bot.forge_click(chat.user_id, gallery["message_id"], real.replace(":anna", ":nobody"))

    window = await chat.window()
    assert "This actor is not available any more" in shown(window)
    assert GALLERY in shown(window) and counter(window) == f"1 / {FEMALE_ACTORS}"
    await chat.tap("✅ Pick Anna", "Change the look")  # the real button still works


async def test_page_numbers_out_of_range_are_clamped(bot: RunningBot) -> None:
    chat = await bot.chat()
    gallery = await open_gallery(chat)
    next_page = await chat.callback_data("▶️", gallery)
    prefix = next_page.rsplit(":", 1)[0]

    await bot.forge_click(chat.user_id, gallery["message_id"], f"{prefix}:999")
    last = await chat.window()
    assert counter(last) == f"{FEMALE_ACTORS} / {FEMALE_ACTORS}" and last["media"] is not None

    await bot.forge_click(chat.user_id, last["message_id"], f"{prefix}:-5")
    first = await chat.window()
    assert counter(first) == f"1 / {FEMALE_ACTORS}" and shown(first).startswith("Anna, 23")


async def test_photos_are_uploaded_once_and_then_sent_by_file_id_from_any_process(
    start_bot: BotStarter,
) -> None:
    bot = await start_bot()
    chat = await bot.chat()
    start = await last_call(bot.tg)
    await open_gallery(chat)
    await chat.tap("▶️", "2 / ")
    await chat.tap("▶️", "3 / ")
    first_visit = await uploads(bot.tg, start)
    assert len(first_visit) == 3, [c["method"] for c in first_visit]

    # The same pages again: in this process, then in a whole new bot process sharing the Redis.
    again = await last_call(bot.tg)
    await chat.tap("◀️", "2 / ")
    await chat.tap("◀️", "1 / ")
    assert await uploads(bot.tg, again) == []

    bot = await start_bot()
    other = await bot.chat(7102)
    again = await last_call(bot.tg)
    await open_gallery(other)
    await other.tap("▶️", "2 / ")
    await other.tap("▶️", "3 / ")

    assert await uploads(bot.tg, again) == [], "photos already on Telegram are sent by file_id, not uploaded"
    media_calls = [c for c in await bot.tg.calls() if c["n"] > again and c["method"] == "editMessageMedia"]
    assert len(media_calls) == 3
