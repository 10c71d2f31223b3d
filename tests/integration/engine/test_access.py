"""`access: admins`: admin commands and dialogs answer only admins; to anyone else they are exactly an unknown
command (the validator's side: tests/unit/flows/test_rules.py)."""

from __future__ import annotations

from tests.fakes.hooks import FakeHooks
from tests.integration.engine.conftest import MakeBot

FLOWS = """
version: 1
start: main.menu
locales: [en]
default_locale: en
commands:
  - {command: start, description: cmd.start, next: main.menu}
  - {command: panel, description: cmd.panel, access: admins, next: panel.home}
dialogs:
  main:
    windows:
      menu:
        text: t.menu
        keyboard:
          - {text: b.name, next: name}
      name:
        text: t.name
        input: {accept: [text], action: set_name, next: menu}
  panel:
    access: admins
    windows:
      home:
        text: t.panel
        keyboard:
          - {text: b.menu, next: main.menu}
"""
TEXTS = {
    "en": {
        "t.menu": "Menu", "t.name": "Your name?", "t.panel": "Admin panel", "b.name": "Name",
        "b.menu": "Menu", "cmd.start": "Start", "cmd.panel": "Panel",
    }
}  # fmt: skip
ADMIN, USER = 7, 8


def hooks() -> FakeHooks:
    return FakeHooks().action("set_name")


async def test_an_admin_command_opens_the_panel_for_an_admin(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks(), texts=TEXTS, user_id=ADMIN, admins=frozenset({ADMIN}))
    await bot.send("/panel")
    assert bot.text == "Admin panel"
    await bot.click("Menu")
    assert bot.text == "Menu"


async def test_to_anyone_else_an_admin_command_is_an_unknown_command(make_bot: MakeBot) -> None:
    fake = hooks()
    admin_cmd = make_bot(FLOWS, fake, texts=TEXTS, user_id=USER, admins=frozenset({ADMIN}))
    unknown = make_bot(FLOWS, hooks(), texts=TEXTS, user_id=USER + 1, admins=frozenset({ADMIN}))
    for bot, command in ((admin_cmd, "/panel"), (unknown, "/nonsense")):
        await bot.send("/start")
        await bot.click("Name")
        await bot.send(command)
    # Both were taken as the answer to "Your name?": no trace of a panel, no different reply.
    assert admin_cmd.text == unknown.text == "Menu"
    assert [ctx.value for ctx in fake.contexts("set_name")] == ["/panel"]
    assert "Admin panel" not in [m.text for m in admin_cmd.windows]


async def test_an_admin_window_stays_closed_to_a_user_with_a_stale_button(make_bot: MakeBot) -> None:
    admin = make_bot(FLOWS, hooks(), texts=TEXTS, user_id=ADMIN, admins=frozenset({ADMIN}))
    await admin.send("/panel")
    # The same buttons pressed by a user who is no longer (or never was) an admin.
    demoted = make_bot(FLOWS, hooks(), texts=TEXTS, user_id=ADMIN, admins=frozenset())
    await demoted.click("Menu", admin.last)
    assert "Admin panel" not in demoted.text
