"""Message inputs: every declared limit is checked before the action; refused and unexpected messages."""

from __future__ import annotations

from typing import Any

from aiogram.types import Document, PhotoSize, Sticker, Video

from dialogs.inputs import ReceivedMedia
from tests.fakes.hooks import FakeHooks
from tests.integration.engine.conftest import MakeBot
from tests.integration.engine.harness import Bot

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
        keyboard:
          - {text: b.name, next: name}
          - {text: b.upload, next: upload.video}
      name:
        text: t.name
        input: {accept: [text], min_length: 2, max_length: 10, action: set_name, next: menu}
        keyboard:
          - {text: b.back, next: menu}
  upload:
    windows:
      video:
        text: t.video
        input:
          accept: [video, document]
          max_mb: 20
          max_seconds: 15
          mime: [video/mp4, video/quicktime, video/webm]
          action: got_video
          next: done
          messages: {too_big: t.custom_big}
      done:
        text: t.done
"""

TEXTS = {
    "en": {
        "t.menu": "Menu",
        "t.name": "Your name?",
        "t.video": "Send a background video",
        "t.done": "Got it",
        "t.custom_big": "{size_mb} MB is over {max_mb} MB",
        "b.name": "Name",
        "b.upload": "Upload",
        "b.back": "Back",
    }
}

MB = 1024 * 1024


def video(**overrides: Any) -> Video:
    fields: dict[str, Any] = dict(
        file_id="vid1",
        file_unique_id="u1",
        width=720,
        height=1280,
        duration=10,
        mime_type="video/mp4",
        file_size=5 * MB,
    )
    fields.update(overrides)
    return Video(**fields)


def sticker() -> Sticker:
    return Sticker(
        file_id="st",
        file_unique_id="st",
        type="regular",
        width=512,
        height=512,
        is_animated=False,
        is_video=False,
    )


async def open_window(bot: Bot, button: str) -> None:
    await bot.send("/start")
    await bot.click(button)


async def assert_refused(bot: Bot, reply: str, window_text: str) -> None:
    """The user got ``reply``, then the same window again as a new message at the bottom."""
    assert bot.bot.replies[-1] == reply
    assert bot.text == window_text


async def test_text_input_length_limits(make_bot: MakeBot) -> None:
    fake = FakeHooks().action("set_name")
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await open_window(bot, "Name")
    shown = len(bot.windows)

    await bot.send("A")
    await assert_refused(bot, "Too short: at least 2 (now 1).", "Your name?")
    assert len(bot.windows) == shown + 1  # re-shown as a new message, buttons at the bottom
    assert bot.buttons == [["Back"]]

    await bot.send("A" * 11)
    await assert_refused(bot, "Too long: at most 10 (now 11).", "Your name?")

    await bot.send_message(sticker=sticker())
    await assert_refused(bot, "Please send: text.", "Your name?")
    assert fake.contexts("set_name") == []

    await bot.send("Ann")
    assert [ctx.value for ctx in fake.contexts("set_name")] == ["Ann"]
    assert bot.text == "Menu"


async def test_video_checks_and_messages_override(make_bot: MakeBot) -> None:
    fake = FakeHooks().action("got_video")
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await open_window(bot, "Upload")
    await bot.send("here is my video")
    await assert_refused(bot, "Please send: video, document.", "Send a background video")

    await bot.send_message(video=video(file_size=25 * MB))
    await assert_refused(bot, "25.0 MB is over 20 MB", "Send a background video")

    await bot.send_message(video=video(duration=20))
    await assert_refused(bot, "Too long: 20 s, limit 15 s.", "Send a background video")

    await bot.send_message(video=video(mime_type="video/x-msvideo"))
    await assert_refused(
        bot,
        "Wrong format (video/x-msvideo). Accepted: video/mp4, video/quicktime, video/webm.",
        "Send a background video",
    )

    await bot.send_message(photo=[PhotoSize(file_id="p", file_unique_id="p", width=10, height=10)])
    await assert_refused(bot, "Please send: video, document.", "Send a background video")
    assert fake.contexts("got_video") == []

    await bot.send_message(video=video())
    assert bot.text == "Got it"
    value = fake.contexts("got_video")[0].value
    assert value == ReceivedMedia(
        kind="video",
        file_id="vid1",
        file_unique_id="u1",
        file_size=5 * MB,
        mime_type="video/mp4",
        duration=10,
        width=720,
        height=1280,
    )


async def test_video_sent_as_document_is_a_document(make_bot: MakeBot) -> None:
    fake = FakeHooks().action("got_video")
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await open_window(bot, "Upload")
    big = Document(
        file_id="d", file_unique_id="du", file_name="bg.mov", mime_type="video/quicktime", file_size=30 * MB
    )
    await bot.send_message(document=big)
    await assert_refused(bot, "30.0 MB is over 20 MB", "Send a background video")
    pdf = Document(
        file_id="d", file_unique_id="du", file_name="a.pdf", mime_type="application/pdf", file_size=MB
    )
    await bot.send_message(document=pdf)
    await assert_refused(
        bot,
        "Wrong format (application/pdf). Accepted: video/mp4, video/quicktime, video/webm.",
        "Send a background video",
    )
    ok = Document(
        file_id="d", file_unique_id="du", file_name="bg.mov", mime_type="video/quicktime", file_size=MB
    )
    await bot.send_message(document=ok)
    assert bot.text == "Got it"
    value = fake.contexts("got_video")[0].value
    assert isinstance(value, ReceivedMedia)
    assert (value.kind, value.file_name, value.mime_type) == ("document", "bg.mov", "video/quicktime")


async def test_unexpected_text_and_sticker_where_only_taps_are_expected(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, texts=TEXTS)
    await bot.send("/start")
    first = bot.last
    await bot.send("hello?")
    assert bot.bot.replies == ["Please tap a button."]
    assert bot.text == "Menu"
    assert bot.last.message_id != first.message_id
    assert bot.buttons == [["Name"], ["Upload"]]

    await bot.send_message(sticker=sticker())
    assert bot.bot.replies == ["Please tap a button."] * 2
    await bot.click("Name")  # still in the same state, buttons work
    assert bot.text == "Your name?"
