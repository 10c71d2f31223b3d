"""The admin panel through the real bot process and the local Telegram, as an admin and as a user: /admin
is invisible to users, stats render, a grant shows up in the user's balance, a ban stops the user politely,
and feedback goes to the admins and an admin's reply comes back."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import BotStarter
from tests.integration.create.chat import Chat, labels, shown
from tests.support.localtg import ControlClient

pytestmark = pytest.mark.e2e
ADMIN, USER, OTHER = 7501, 7502, 7503


async def balance(chat: Chat) -> int:
    await chat.say("/menu", "UGC Bot")
    found = re.search(r"Balance: (\d+) cr\.", shown(await chat.window()))
    assert found
    return int(found.group(1))


async def test_admin_panel_as_an_admin_and_as_a_user(start_bot: BotStarter, tg: ControlClient) -> None:
    start_bot(ADMIN_IDS=str(ADMIN), ADMIN_FEEDBACK_CHAT_ID=str(ADMIN))
    for user_id, name in ((ADMIN, "Ada"), (USER, "Uma"), (OTHER, "Olga")):
        await tg.create_user(user_id, name, language_code="en")
        await Chat(tg, user_id).say("/start", "UGC Bot")
    admin, user, other = Chat(tg, ADMIN), Chat(tg, USER), Chat(tg, OTHER)

    # A user typing /admin gets exactly what a command the bot does not know gets.
    await user.say("/menu", "UGC Bot")
    await other.say("/menu", "UGC Bot")
    since = await user.change()
    await tg.send(USER, "/admin")
    await tg.send(OTHER, "/nonsense")
    as_user = await user.arrives("UGC Bot", since=since)
    as_other = await other.arrives("UGC Bot", since=since)
    assert shown(as_user) == shown(as_other).replace("Olga", "Uma") and labels(as_user) == labels(as_other)
    assert "Admin panel" not in str(await tg.messages(USER))
    menus = dict(await tg.request("GET", "/control/commands"))
    assert {"default:", "default:en", f"chat:{ADMIN}:", f"chat:{ADMIN}:en"} <= set(menus), set(menus)
    for scope, commands in menus.items():
        listed = [c["command"] for c in commands]
        assert ("admin" in listed) == scope.startswith(f"chat:{ADMIN}:"), (scope, listed)

    # The admin: stats.
    home = await admin.say("/admin", "Admin panel")
    stats = await admin.tap("📊 Stats", "Users:", on=home)
    assert "Users: 3" in shown(stats) and "Videos: 0" in shown(stats), shown(stats)
    # Every part of the screen is there: windows, days, credits, failures, costs.
    for line in ("new: today 3 · 7 d 3 · 30 d 3", "median time to video (30 d): —", "last 14 days",
                 "Credits, all time: issued 150 · spent 0", "Credits, 30 d: issued 150", "held by videos",
                 "Failed (30 d): 0 of 0", "Provider cost estimate: 30 d $0.00"):  # fmt: skip
        assert line in shown(stats), (line, shown(stats))
    await admin.tap("← Back", "Admin panel")

    # User lookup, a grant with a reason, and a refused revoke.
    await admin.tap("👤 Users", "Send a user's Telegram id")
    card = await admin.say(str(USER), "Balance: 50 cr.")
    assert f"id {USER}" in shown(card) and "Banned: no" in shown(card)
    await admin.tap("➕ Grant credits", "How many credits to grant")
    await admin.say("abc", "Send the amount and the reason")
    card = await admin.say("100 thanks for the bug report", "Granted 100 cr.; the balance is now 150 cr.")
    assert "+100 admin_grant — thanks for the bug report" in shown(card)
    assert await balance(user) == 150
    await admin.tap("➖ Revoke credits", "How many credits to revoke", on=card)
    await admin.say("500 mistake", "The user has only 150 cr.; cannot revoke 500.")
    card = await admin.say("30 duplicate grant", "Revoked 30 cr.; the balance is now 120 cr.")
    assert await balance(user) == 120

    # A ban: the user is told politely and nothing runs; an unban lets them back.
    card = await admin.tap("🚫 Ban", "The user is banned.", on=card)
    since = await user.change()
    await tg.send(USER, "/create")
    refusal = await user.arrives("access to this bot has been restricted", since=since)
    assert "Choose the format" not in shown(refusal)
    await admin.tap("✅ Unban", "The user is unbanned.", on=card)
    await user.say("/create", "Choose the format")

    # Feedback: the user writes, the admin answers by replying, the user gets the answer.
    await user.say("/menu", "UGC Bot")
    await user.tap("✉️ Feedback", "Write to the team")
    since = await admin.change()
    await user.say("The preview has no sound on my phone", "reached the team")
    forwarded = await admin.arrives("The preview has no sound on my phone", since=since)
    assert f"Feedback from Uma (id {USER})" in shown(forwarded), shown(forwarded)
    since = await user.change()
    await tg.send(ADMIN, "Thanks! Fixed in the next release.", reply_to=forwarded["message_id"])
    answer = await user.arrives("Answer from the team", since=since)
    assert "Thanks! Fixed in the next release." in shown(answer)
    await admin.arrives("Your answer was delivered", since=since)

    # The job monitor with nothing to watch, then a broadcast to everyone, sent by the worker.
    await admin.say("/admin", "Admin panel")
    await admin.tap("⚙️ Jobs", "Nothing queued, running or failed.")
    await admin.tap("← Back", "Admin panel")
    await admin.tap("📣 Broadcast", "Send the message to broadcast")
    since = await admin.change()
    bold = [{"type": "bold", "offset": 0, "length": 9}]
    await tg.send(ADMIN, "Big news: new voices are here!", entities=bold)
    await admin.arrives("Who gets it?", since=since)
    confirm = await admin.tap("👥 Everyone", "Send this to everyone — 3 users?")
    assert "Big news: new voices are here!" in shown(confirm)
    since = await admin.change()
    await admin.tap("🚀 Send", "📣", on=confirm)
    await admin.arrives("finished: 3 of 3", since=since, within=30)
    for chat in (user, other):
        got = [m for m in await tg.messages(chat.user_id) if m["text"] == "Big news: new voices are here!"]
        assert len(got) == 1, chat.user_id
        assert got[0]["html"].startswith("<b>Big news:</b>"), "the admin's formatting is kept"
