"""Sending, editing and deleting messages through the real aiogram ``Bot``: Telegram's limits and wordings."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from tests.integration.localtg.conftest import make_bot
from tests.support.localtg import ControlClient, RunningServer


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons]
    )


async def test_get_me_answers_with_the_bot_whose_id_is_the_token_digits(bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == 123456
    assert me.is_bot
    assert me.username == "local_dev_bot"


async def test_a_wrong_token_is_unauthorized(server: RunningServer) -> None:
    stranger = make_bot(server.url, "999:not-the-token")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_an_unknown_method_is_404_like_telegram_and_names_are_case_insensitive(
    server: RunningServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/bot{server.token}/sendTelepathy", data={"chat_id": "1"}) as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{server.url}/bot{server.token}/GETME") as resp:
            assert resp.status == 200
            assert (await resp.json())["result"]["id"] == 123456


async def test_a_sent_message_shows_in_the_chat_with_its_buttons(
    bot: Bot, tg: ControlClient, user: int
) -> None:
    sent = await bot.send_message(
        user, "Pick one", reply_markup=keyboard(("FAQ", "faq"), ("Pricing", "price"))
    )

    shown = await tg.last_bot_message(user)
    assert shown["message_id"] == sent.message_id
    assert shown["text"] == "Pick one"
    assert shown["buttons"] == [
        [{"text": "FAQ", "callback_data": "faq"}],
        [{"text": "Pricing", "callback_data": "price"}],
    ]
    assert sent.chat.id == user
    assert sent.from_user is not None and sent.from_user.is_bot


async def test_html_becomes_entities_and_bad_html_fails_with_telegrams_wording(
    bot: Bot, tg: ControlClient, user: int
) -> None:
    sent = await bot.send_message(user, "<b>Hi</b> &amp; <i>welcome</i>", parse_mode="HTML")

    assert sent.text == "Hi & welcome"
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [("bold", 0, 2), ("italic", 5, 7)]
    assert (await tg.last_bot_message(user))["html"] == "<b>Hi</b> &amp; <i>welcome</i>"
    with pytest.raises(
        TelegramBadRequest, match='can\'t parse entities: Unsupported start tag "div" at byte offset 0'
    ):
        await bot.send_message(user, "<div>x</div>", parse_mode="HTML")


async def test_unescaped_markdown_v2_fails_like_telegram(bot: Bot, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved and must be escaped"):
        await bot.send_message(user, "Version 1.0", parse_mode="MarkdownV2")

    ok = await bot.send_message(user, "*Version* 1\\.0", parse_mode="MarkdownV2")
    assert ok.text == "Version 1.0"


async def test_text_is_limited_to_4096_characters(bot: Bot, user: int) -> None:
    await bot.send_message(user, "я" * 4096)

    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user, "я" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(user, "   ")


async def test_caption_is_limited_to_1024_characters(bot: Bot, user: int) -> None:
    photo = BufferedInputFile(b"not really a jpeg", "p.jpg")
    await bot.send_photo(user, photo, caption="c" * 1024)

    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(user, BufferedInputFile(b"x", "p.jpg"), caption="c" * 1025)


async def test_callback_data_is_limited_to_64_bytes_not_characters(bot: Bot, user: int) -> None:
    await bot.send_message(user, "ok", reply_markup=keyboard(("a", "ж" * 32)))

    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(user, "too long", reply_markup=keyboard(("a", "ж" * 33)))


async def test_editing_follows_telegrams_rules(bot: Bot, tg: ControlClient, user: int) -> None:
    sent = await bot.send_message(user, "Menu", reply_markup=keyboard(("FAQ", "faq")))

    edited = await bot.edit_message_text("FAQ text", chat_id=user, message_id=sent.message_id)

    assert not isinstance(edited, bool) and edited.edit_date is not None
    shown = await tg.last_bot_message(user)
    assert (shown["text"], shown["edited"], shown["buttons"]) == ("FAQ text", True, [])
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("FAQ text", chat_id=user, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=user, message_id=9999)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=user, message_id=1)  # the user's /start
    with pytest.raises(TelegramBadRequest, match="there is no caption in the message to edit"):
        await bot.edit_message_caption(chat_id=user, message_id=sent.message_id, caption="x")


async def test_editing_text_of_a_media_message_is_refused(bot: Bot, user: int) -> None:
    photo = await bot.send_photo(user, BufferedInputFile(b"jpeg", "p.jpg"), caption="one")

    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=user, message_id=photo.message_id)
    edited = await bot.edit_message_caption(chat_id=user, message_id=photo.message_id, caption="two")
    assert not isinstance(edited, bool) and edited.caption == "two"


async def test_removing_a_keyboard_twice_is_not_modified(bot: Bot, tg: ControlClient, user: int) -> None:
    sent = await bot.send_message(user, "Menu", reply_markup=keyboard(("FAQ", "faq")))

    await bot.edit_message_reply_markup(chat_id=user, message_id=sent.message_id)

    assert (await tg.last_bot_message(user))["buttons"] == []
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=user, message_id=sent.message_id)


async def test_deleted_messages_vanish_and_cannot_be_deleted_twice(
    bot: Bot, tg: ControlClient, user: int
) -> None:
    sent = await bot.send_message(user, "temporary")

    assert await bot.delete_message(user, sent.message_id)

    assert [m["text"] for m in await tg.visible(user)] == ["/start"]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("back?", chat_id=user, message_id=sent.message_id)


async def test_who_the_bot_may_write_to(bot: Bot, tg: ControlClient, user: int) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(777, "hello?")

    await tg.create_user(778, "Silent")
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation with a user"):
        await bot.send_message(778, "hello?")

    await tg.block(user)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(user, "still there?")
    updates = await bot.get_updates()
    member = [u.my_chat_member for u in updates if u.my_chat_member]
    assert member and member[-1].new_chat_member.status == "kicked"


async def test_callback_answers_need_a_live_query_id(bot: Bot, tg: ControlClient, user: int) -> None:
    sent = await bot.send_message(user, "Menu", reply_markup=keyboard(("FAQ", "faq")))
    query_id = (await tg.click(user, sent.message_id, button="FAQ"))["callback_query_id"]

    assert await bot.answer_callback_query(query_id, text="Opening…", show_alert=True)

    answer = await tg.callback(query_id)
    assert answer["answered"] and answer["answer"]["text"] == "Opening…" and answer["answer"]["show_alert"]
    for stale in (query_id, "123"):
        with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
            await bot.answer_callback_query(stale)


async def test_chat_actions_must_be_known(bot: Bot, user: int) -> None:
    assert await bot.send_chat_action(user, "typing")

    with pytest.raises(TelegramBadRequest, match="wrong parameter action in request"):
        await bot.send_chat_action(user, "dancing")


async def test_commands_round_trip_and_bad_names_are_refused(bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Main menu")])

    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start Now", description="x")])


async def test_get_chat_describes_the_private_chat(bot: Bot, user: int) -> None:
    chat = await bot.get_chat(user)

    assert (chat.id, chat.type, chat.username) == (user, "private", "ann")


@pytest.mark.parametrize(
    ("text", "mode", "wording"),
    [
        ("<b>bold", "HTML", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<i>a</b>", "HTML", 'Unmatched end tag at byte offset 4, expected "</i>", found "</b>"'),
        ('<a href="x">a</a> <span>b</span>', "HTML", 'Tag "span" must have class "tg-spoiler"'),
        ("*bold", "MarkdownV2", "Can't find end of Bold entity at byte offset 0"),
        ("price: 5-10", "MarkdownV2", "Character '-' is reserved"),
        ("_open", "Markdown", "Can't find end of the entity starting at byte offset 0"),
    ],
)
async def test_markup_mistakes_fail_with_tdlib_wordings(
    bot: Bot, user: int, text: str, mode: str, wording: str
) -> None:
    with pytest.raises(TelegramBadRequest) as failure:
        await bot.send_message(user, text, parse_mode=mode)

    assert f"can't parse entities: {wording}" in failure.value.message


async def test_a_reply_keyboard_stays_until_removed_or_used_once(
    bot: Bot, tg: ControlClient, user: int
) -> None:
    await bot.send_message(
        user,
        "Choose",
        reply_markup=ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Yes"), KeyboardButton(text="No")]]),
    )
    assert (await tg.request("GET", f"/control/users/{user}"))["reply_keyboard"] == [["Yes", "No"]]

    await bot.send_message(user, "Gone", reply_markup=ReplyKeyboardRemove())
    assert (await tg.request("GET", f"/control/users/{user}"))["reply_keyboard"] is None

    await bot.send_message(
        user,
        "Once",
        reply_markup=ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Ok")]], one_time_keyboard=True),
    )
    await tg.send(user, "Ok")
    assert (await tg.request("GET", f"/control/users/{user}"))["reply_keyboard"] is None
