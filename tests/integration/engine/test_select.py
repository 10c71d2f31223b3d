"""Selects (with and without pages) and the window scroll pager."""

from __future__ import annotations

from tests.fakes.hooks import FakeHooks
from tests.integration.engine.conftest import MakeBot

FLOWS = """
version: 1
start: main.list
locales: [en]
default_locale: en
commands:
  - {command: start, description: cmd.start, next: main.list}
dialogs:
  main:
    windows:
      list:
        text: t.list
        getter: things
        keyboard:
          - select: {id: pick, items: things, text: t.thing, page_size: 2, action: picked, next: shown,
                     on: {sold_out: "@stay"}}
          - select: {id: size, items: sizes, text: t.size, columns: 2, next: sized}
          - {text: b.gallery, next: gallery}
      shown:
        text: t.shown
        keyboard:
          - {text: b.back, next: list}
      sized:
        text: t.sized
      gallery:
        text: t.gallery
        getter: gallery
        scroll: {id: gal, pages: pages}
        keyboard:
          - pager: gal
          - {text: b.back, next: list}
"""

TEXTS = {
    "en": {
        "t.list": "Pick one",
        "t.thing": "{pos}. {item[name]} {currency}",
        "t.size": "{item[label]}",
        "t.shown": "Picked {dialog_data[pick]}",
        "t.sized": "Size {dialog_data[size]}",
        "t.gallery": "Photo {page}",
        "b.gallery": "Gallery",
        "b.back": "Back",
    }
}

THINGS = [{"id": f"t{i}", "name": f"Thing{i}"} for i in range(1, 6)]
SIZES = [{"id": s, "label": s.upper()} for s in ("s", "m", "l")]


def hooks() -> FakeHooks:
    return (
        FakeHooks()
        .getter("things", {"things": THINGS, "sizes": SIZES, "currency": "€"})
        .getter(
            "gallery",
            lambda ctx: {"pages": 3, "page": ctx.manager.current_context().widget_data.get("gal", 0) + 1},
        )
        .action("picked", outcomes=("ok", "sold_out"))
    )


async def test_paged_select_shows_one_page_with_pager_and_item_texts(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks(), texts=TEXTS)
    await bot.send("/start")
    assert bot.buttons[:2] == [["1. Thing1 €"], ["2. Thing2 €"]]
    pager = bot.buttons[2]
    assert pager == ["1", "<", "1", ">", "3"]
    assert bot.buttons[3:] == [["S", "M"], ["L"], ["Gallery"]]
    await bot.click(">")
    assert bot.buttons[:2] == [["3. Thing3 €"], ["4. Thing4 €"]]
    await bot.click("3")
    assert bot.buttons[:1] == [["5. Thing5 €"]]


async def test_select_stores_item_runs_action_and_moves(make_bot: MakeBot) -> None:
    fake = hooks()
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await bot.send("/start")
    await bot.click(">")
    await bot.click("4. Thing4 €")
    assert bot.text == "Picked t4"
    assert [ctx.item_id for ctx in fake.contexts("picked")] == ["t4"]


async def test_select_outcome_stay_keeps_the_list(make_bot: MakeBot) -> None:
    fake = hooks()
    fake.outcomes["picked"] = "sold_out"
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await bot.send("/start")
    await bot.click("1. Thing1 €")
    assert bot.text == "Pick one"


async def test_select_without_action_just_moves(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks(), texts=TEXTS)
    await bot.send("/start")
    await bot.click("M")
    assert bot.text == "Size m"


async def test_scroll_pager_shows_page_of_pages_and_moves(make_bot: MakeBot) -> None:
    bot = make_bot(FLOWS, hooks(), texts=TEXTS)
    await bot.send("/start")
    await bot.click("Gallery")
    assert bot.text == "Photo 1"
    assert bot.buttons[0] == ["◀️", "1 / 3", "▶️"]
    await bot.click("▶️")
    assert bot.text == "Photo 2"
    assert bot.buttons[0] == ["◀️", "2 / 3", "▶️"]
    await bot.click("▶️")
    await bot.click("▶️")  # past the last page: stays on it
    assert bot.buttons[0][1] == "3 / 3"
    await bot.click("◀️")
    assert bot.text == "Photo 2"


async def test_pager_hidden_while_everything_fits_one_page(make_bot: MakeBot) -> None:
    fake = FakeHooks().getter("things", {"things": THINGS[:2], "sizes": [], "currency": "€"})
    fake.getter("gallery", {"pages": 1, "page": 1}).action("picked")
    bot = make_bot(FLOWS, fake, texts=TEXTS)
    await bot.send("/start")
    assert bot.buttons == [["1. Thing1 €"], ["2. Thing2 €"], ["Gallery"]]
    await bot.click("Gallery")
    assert bot.buttons == [["Back"]]  # one page: no pager row
