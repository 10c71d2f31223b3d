"""Window media: a repository file, or a getter field holding a path, URL or Telegram file_id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.hooks import FakeHooks
from tests.integration.engine.conftest import MakeBot

FLOWS = """
version: 1
start: main.menu
locales: [en]
default_locale: en
commands:
  - {command: start, description: cmd.start, next: main.menu}
dialogs:
  main:
    windows:
      menu:
        text: t.menu
        media: {kind: photo, path: img/logo.png, when: "!hide_logo"}
        keyboard:
          - {text: b.clip, next: clip}
      clip:
        text: t.clip
        getter: clip
        media: {kind: video, field: clip}
"""

TEXTS = {"en": {"t.menu": "Menu", "t.clip": "Your clip", "b.clip": "Clip"}}


async def test_static_photo_from_the_repository(make_bot: MakeBot, tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "logo.png").write_bytes(b"\x89PNG")
    bot = make_bot(FLOWS, FakeHooks().getter("clip", {}), texts=TEXTS, base_dir=tmp_path)
    await bot.send("/start")
    assert bot.last.photo
    assert bot.last.caption == "Menu"


async def test_media_when_condition_hides_it(make_bot: MakeBot) -> None:
    flows = FLOWS.replace("    windows:\n      menu:", "    getter: flags\n    windows:\n      menu:", 1)
    bot = make_bot(flows, FakeHooks().getter("flags", {"hide_logo": True}).getter("clip", {}), texts=TEXTS)
    await bot.send("/start")
    assert bot.last.photo is None
    assert bot.last.text == "Menu"


async def test_field_media_file_id_and_empty_field(make_bot: MakeBot, tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "logo.png").write_bytes(b"\x89PNG")
    data: dict[str, Any] = {"clip": "BAACAgIAAxkBAAIBOWc"}
    bot = make_bot(FLOWS, FakeHooks().getter("clip", data), texts=TEXTS, base_dir=tmp_path)
    await bot.send("/start")
    await bot.click("Clip")
    assert bot.last.video is not None
    assert bot.last.video.file_id == "BAACAgIAAxkBAAIBOWc"
    assert bot.last.caption == "Your clip"

    data["clip"] = None  # nothing to show yet: a plain text window
    await bot.send("/start")
    await bot.click("Clip")
    assert bot.last.video is None
    assert bot.last.text == "Your clip"
