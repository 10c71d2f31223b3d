"""Stage two: one test per meaning rule on inline YAML, asserting the rule, the line and the dialog/window."""

from __future__ import annotations

from pathlib import Path

from dialogs.errors import (
    AdminLeak,
    BackFromFirstWindow,
    BadStart,
    CallbackDataTooLong,
    DuplicateCommand,
    DuplicateWidgetId,
    FlowError,
    IllegalWidgetId,
    MissingMediaFile,
    MissingPlaceholderData,
    MissingText,
    TextsProblem,
    UnknownOutcome,
    UnknownScroll,
    UnknownTarget,
    UnreachableWindow,
    UnregisteredHook,
    WrongHookKind,
)
from tests.unit.flows.builders import check, line_with, registry, write_flows

HEAD = """\
version: 1
start: main.menu
locales: [en]
default_locale: en
texts: texts
"""


def where(problem: FlowError) -> tuple[type[FlowError], int, str | None, str | None]:
    return type(problem), problem.line, problem.dialog, problem.window


def test_a_clean_flow_has_no_problems(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
commands:
  - {command: help, description: commands.help, next: main.help}
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: menu.faq, next: faq.list}
      help:
        text: help.text
        keyboard:
          - {text: common.back, next: "@back"}
  faq:
    windows:
      list:
        text: faq.title
        getter: questions
        keyboard:
          - select: {id: faq_q, items: questions, text: faq.question, page_size: 5, next: answer}
      answer:
        text: faq.answer
        keyboard:
          - {text: common.back, next: list}
""",
        texts={"en": {"faq.question": "{item[question]}"}},
    )
    assert check(path, registry(getters=["questions"])) == []


def test_start_must_name_an_existing_window(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        """\
version: 1
start: main.manu
locales: [en]
default_locale: ru
texts: texts
dialogs:
  main:
    windows:
      menu: {text: menu.text}
""",
    )
    problems = check(path)
    assert [where(p) for p in problems] == [(BadStart, 2, None, None), (BadStart, 4, None, None)]
    assert (
        problems[0].message
        == "'start' target 'main.manu': no window 'manu' in dialog 'main' (did you mean 'menu'?)"
    )
    assert problems[1].message == "default_locale 'ru' is not one of the locales: en"


def test_start_must_be_a_dialog_window(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD.replace("main.menu", '"@home"')
        + "dialogs:\n  main:\n    windows:\n      menu: {text: menu.text}\n",
    )
    [problem] = check(path)
    assert where(problem) == (BadStart, 2, None, None)
    assert problem.message == "'start' must be dialog.window, like 'main.menu' (got '@home')"


def test_unknown_transition_target(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
commands:
  - {command: faq, description: commands.faq, next: list}
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: menu.faq, next: faq.lst}
          - {text: menu.faq_list, next: faq.list}
          - {text: menu.help, next: hepl}
          - {text: menu.pay, action: pay, next: menu, on: {failed: nowhere.else}}
  faq:
    windows:
      list: {text: faq.title, keyboard: [{text: common.back, next: "@done"}]}
""",
    )
    problems = check(path, registry(actions={"pay": ("failed",)}))
    assert [where(p) for p in problems] == [
        (UnknownTarget, line_with(path, "next: list"), None, None),
        (UnknownTarget, line_with(path, "faq.lst"), "main", "menu"),
        (UnknownTarget, line_with(path, "hepl"), "main", "menu"),
        (UnknownTarget, line_with(path, "nowhere.else"), "main", "menu"),
    ]
    assert [p.message for p in problems] == [
        "target 'list': a command has no current dialog, write 'dialog.window'",
        "target 'faq.lst': no window 'lst' in dialog 'faq' (did you mean 'list'?)",
        "target 'hepl': no window 'hepl' in dialog 'main'",
        "target 'nowhere.else': no dialog 'nowhere'",
    ]


def test_unreachable_window(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
commands:
  - {command: help, description: commands.help, next: main.help}
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: menu.pay, action: pay, on: {paid: done}}
      help: {text: help.text, keyboard: [{text: common.home, next: "@home"}]}
      done: {text: done.text}
      orphan: {text: orphan.text, keyboard: [{text: common.home, next: menu}]}
""",
    )
    [problem] = check(path, registry(actions={"pay": ("paid",)}))
    assert where(problem) == (UnreachableWindow, line_with(path, "orphan:"), "main", "orphan")
    assert problem.message == "window is not reachable from start (main.menu) or any command"


def test_duplicate_widget_ids(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        getter: items
        scroll: {id: list, pages: pages}
        keyboard:
          - {text: menu.go, next: menu}
          - {text: menu.go, next: menu}
          - {text: menu.prev, id: list_prev, next: menu}
          - {pager: list}
          - select: {id: menu_go, items: items, text: menu.item, next: menu}
""",
    )
    problems = check(path, registry(getters=["items"]))
    assert [where(p) for p in problems] == [
        (DuplicateWidgetId, line_with(path, "menu.go", 2), "main", "menu"),
        (DuplicateWidgetId, line_with(path, "pager: list"), "main", "menu"),
        (DuplicateWidgetId, line_with(path, "id: menu_go"), "main", "menu"),
    ]
    first_go = line_with(path, "menu.go")
    assert problems[0].message == (
        f"widget id 'menu_go' is used twice in this window (first at line {first_go}) — "
        "give one of them its own 'id'"
    )
    assert "'list_prev'" in problems[1].message


def test_duplicate_command(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
commands:
  - {command: menu, description: commands.menu, next: main.menu}
  - {command: menu, description: commands.menu2, next: main.menu}
dialogs:
  main:
    windows:
      menu: {text: menu.text}
""",
    )
    [problem] = check(path)
    assert where(problem) == (DuplicateCommand, line_with(path, "commands.menu2"), None, None)
    assert (
        problem.message
        == f"command /menu is declared twice (first at line {line_with(path, 'commands.menu,')})"
    )


def test_unregistered_hooks(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    getter: sumary
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: menu.pay, action: pay_now, next: menu}
""",
    )
    problems = check(path, registry(getters=["summary"], actions={"pay": ()}))
    assert [where(p) for p in problems] == [
        (UnregisteredHook, line_with(path, "sumary"), "main", None),
        (UnregisteredHook, line_with(path, "pay_now"), "main", "menu"),
    ]
    assert problems[0].message == "no getter named 'sumary' is registered (did you mean 'summary'?)"
    assert problems[1].message == "no action named 'pay_now' is registered (did you mean 'pay'?)"


def test_hook_of_the_wrong_kind(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        getter: pay
        keyboard:
          - {text: menu.pay, action: summary, next: menu}
""",
    )
    problems = check(path, registry(getters=["summary"], actions={"pay": ()}))
    assert [where(p) for p in problems] == [
        (WrongHookKind, line_with(path, "getter: pay"), "main", "menu"),
        (WrongHookKind, line_with(path, "action: summary"), "main", "menu"),
    ]
    assert problems[0].message == "'pay' is registered as an action, but 'getter' needs a getter"
    assert problems[1].message == "'summary' is registered as a getter, but 'action' needs an action"


def test_outcome_the_action_never_returns(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - text: menu.pay
            action: pay
            next: menu
            on:
              no_money: menu
              no_mony: menu
""",
    )
    [problem] = check(path, registry(actions={"pay": ("no_money",)}))
    assert where(problem) == (UnknownOutcome, line_with(path, "no_mony"), "main", "menu")
    assert problem.message == "action 'pay' never returns 'no_mony' (it returns: no_money, ok)"


def test_text_key_missing_in_one_locale(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD.replace("[en]", "[ru, en]")
        + """\
dialogs:
  main:
    windows:
      menu:
        text: [menu.text, {key: menu.hint, when: has_hint}]
        keyboard:
          - {text: menu.go, next: menu}
""",
        without={"en": ["menu.hint"], "ru": ["menu.go"]},
    )
    problems = check(path)
    assert [where(p) for p in problems] == [
        (MissingText, line_with(path, "menu.hint"), "main", "menu"),
        (MissingText, line_with(path, "menu.go"), "main", "menu"),
    ]
    assert (
        problems[0].message
        == f"text 'menu.hint' is missing in locale 'en' ({tmp_path / 'texts' / 'en.yaml'})"
    )
    assert "'menu.go' is missing in locale 'ru'" in problems[1].message


def test_engine_and_input_texts_must_exist(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        input:
          accept: [text]
          max_length: 100
          min_length: 3
          messages: {too_short: menu.too_short}
          action: save
          next: menu
""",
        without={"en": ["common.session_expired", "input.too_long", "menu.too_short", "input.too_short"]},
    )
    problems = check(path, registry(actions={"save": ()}))
    assert [(type(p), p.line, p.message.split(" is missing")[0]) for p in problems] == [
        (MissingText, line_with(path, "texts: texts"), "text 'common.session_expired'"),
        (MissingText, line_with(path, "input:"), "text 'input.too_long'"),
        (MissingText, line_with(path, "menu.too_short"), "text 'menu.too_short'"),
    ]
    # input.too_short is overridden by messages:, so only the override has to exist.


def test_placeholder_without_preview_data(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
preview: {first_name: Ann}
dialogs:
  main:
    preview: {balance: 5}
    windows:
      menu:
        text: menu.text
        getter: items
        keyboard:
          - select: {id: pick, items: items, text: menu.item, next: menu}
          - {text: menu.more, next: menu}
        preview: {items: []}
""",
        texts={
            "en": {
                "menu.text": "{first_name}: {balance}",
                "menu.item": "{item[name]} #{pos}",
                "menu.more": "{count} more",
            }
        },
    )
    [problem] = check(path, registry(getters=["items"]))
    assert where(problem) == (MissingPlaceholderData, line_with(path, "menu.more"), "main", "menu")
    assert problem.message == (
        "text 'menu.more' uses {count}, which no preview data gives: "
        "add 'count' to 'preview:' of the window, its dialog or the file"
    )


def test_illegal_widget_id(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: menu.ru, id: lang-ru, next: menu}
""",
    )
    [problem] = check(path)
    assert where(problem) == (IllegalWidgetId, line_with(path, "lang-ru"), "main", "menu")
    assert problem.message == "widget id 'lang-ru' may hold only letters, digits, '_' and '.'"


def test_callback_data_over_64_bytes(tmp_path: Path) -> None:
    fits, too_long = "b" * 57, "c" * 58
    select_fits, select_too_long = "s" * 40, "t" * 41  # + ":" + 16 bytes of item id
    path = write_flows(
        tmp_path,
        HEAD
        + f"""\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        getter: items
        scroll: {{id: {"p" * 48}, pages: pages}}
        keyboard:
          - {{text: menu.a, id: {fits}, next: menu}}
          - {{text: menu.b, id: {too_long}, next: menu}}
          - {{text: menu.c, id: {"u" * 70}, url: "https://example.com"}}
          - select: {{id: {select_fits}, items: items, text: menu.item, next: menu}}
          - select: {{id: {select_too_long}, items: items, text: menu.item, next: menu}}
          - {{pager: {"p" * 48}}}
""",
    )
    problems = check(path, registry(getters=["items"]))
    assert [where(p) for p in problems] == [
        (CallbackDataTooLong, line_with(path, too_long), "main", "menu"),
        (CallbackDataTooLong, line_with(path, select_too_long), "main", "menu"),
        (CallbackDataTooLong, line_with(path, "pager:"), "main", "menu"),
    ]
    assert problems[0].message == (
        f"callback data can reach 65 bytes, Telegram allows 64: shorten the button id {too_long!r} by 1 byte"
    )
    assert "item_id_max_bytes (16)" in problems[1].message
    # intent prefix 7 + scroll id 48 + "_prev" 5 + ":" 1 + page number 4 digits
    assert problems[2].message.startswith("callback data can reach 65 bytes")


def test_paged_select_counts_its_pager_id(tmp_path: Path) -> None:
    fits, too_long = "s" * 49, "t" * 50  # id + "_pg:" + 4 digits of page number: 57 fits, 58 does not
    path = write_flows(
        tmp_path,
        HEAD
        + f"""\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        getter: items
        keyboard:
          - select: {{id: {fits}, items: items, item_id_max_bytes: 1, page_size: 5, text: a.i, next: x}}
          - select: {{id: {too_long}, items: items, item_id_max_bytes: 1, page_size: 5, text: a.i, next: x}}
      x: {{text: menu.text}}
""",
    )
    [problem] = check(path, registry(getters=["items"]))
    assert where(problem) == (CallbackDataTooLong, line_with(path, too_long), "main", "menu")
    assert problem.message == (
        f"callback data can reach 65 bytes, Telegram allows 64: shorten the select id {too_long!r} by 1 byte"
    )


def test_media_file_relative_to_the_flows_file(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "hello.png").write_bytes(b"\x89PNG")
    path = write_flows(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        media: {kind: photo, path: media/hello.png}
        keyboard: [{text: menu.go, next: other}]
      other:
        text: menu.text
        media: {kind: photo, path: media/missing.png}
""",
    )
    [problem] = check(path)
    assert where(problem) == (MissingMediaFile, line_with(path, "missing.png"), "main", "other")
    assert problem.message.startswith("media file 'media/missing.png' not found")


def test_pager_naming_no_scroll(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        scroll: {id: pages, pages: count}
        keyboard:
          - {pager: page}
          - {text: menu.go, next: other}
      other:
        text: menu.text
        keyboard:
          - {pager: pages}
""",
    )
    problems = check(path)
    assert [where(p) for p in problems] == [
        (UnknownScroll, line_with(path, "pager: page}"), "main", "menu"),
        (UnknownScroll, line_with(path, "pager: pages}"), "main", "other"),
    ]
    assert problems[0].message == "pager 'page' names no scroll of this window (its scroll is 'pages')"
    assert problems[1].message == (
        "pager 'pages' names no scroll of this window (add 'scroll: {id: …, pages: …}' to the window)"
    )


def test_locale_file_missing_or_broken(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD.replace("[en]", "[en, ru, de]")
        + """\
dialogs:
  main:
    windows:
      menu: {text: menu.text}
""",
    )
    (tmp_path / "texts" / "ru.yaml").write_text("menu:\n  text: [unclosed\n", encoding="utf-8")
    (tmp_path / "texts" / "de.yaml").unlink()
    problems = check(path)
    assert [(type(p), p.file.name, p.line) for p in problems] == [
        (TextsProblem, "flows.yaml", 3),
        (TextsProblem, "flows.yaml", 3),
        (TextsProblem, "ru.yaml", 3),
    ]
    assert "no texts for locale 'ru'" in problems[0].message
    assert "no texts for locale 'de'" in problems[1].message
    assert problems[2].message.startswith("malformed YAML")


def test_broken_text_template_points_into_the_locale_file(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD + "dialogs:\n  main:\n    windows:\n      menu: {text: menu.text}\n",
        texts={"en": {"menu.text": "Balance: {balance"}},
    )
    [problem] = check(path)
    texts_file = tmp_path / "texts" / "en.yaml"
    assert (type(problem), problem.file, problem.line) == (
        TextsProblem,
        texts_file,
        line_with(texts_file, "menu.text"),
    )
    assert problem.message.startswith("text 'menu.text' is not a valid template")


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """\
dialogs:
  main:
    getter: nobody
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: menu.go, next: gone}
          - {text: menu.bad, id: a-b, next: menu}
      lost: {text: lost.text}
""",
        without={"en": ["lost.text"]},
    )
    problems = check(path)
    assert [type(p) for p in problems] == [
        UnregisteredHook,
        UnknownTarget,
        IllegalWidgetId,
        UnreachableWindow,
        MissingText,
    ]
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_back_needs_a_previous_window(tmp_path: Path) -> None:
    path = write_flows(
        tmp_path,
        HEAD
        + """commands:
  - {command: undo, description: commands.help, next: "@back"}
dialogs:
  main:
    windows:
      menu:
        text: menu.text
        keyboard:
          - {text: common.back, id: first_back, next: "@back"}
          - {text: menu.faq, next: help}
      help:
        text: help.text
        keyboard:
          - {text: common.back, next: "@back"}
""",
    )
    problems = check(path)
    assert [where(p) for p in problems] == [
        (BackFromFirstWindow, line_with(path, "command: undo"), None, None),
        (BackFromFirstWindow, line_with(path, "first_back"), "main", "menu"),
    ]
    assert "use '@done' or name the window" in problems[1].message


ADMIN_FLOW = """\
commands:
  - {command: panel, description: cmd.panel, access: admins, next: panel.home}
  - {command: peek, description: cmd.peek, next: panel.home}
dialogs:
  main:
    windows:
      menu:
        text: t.menu
        keyboard:
          - {text: b.panel, next: panel.home}
  panel:
    access: admins
    windows:
      home:
        text: t.panel
        keyboard:
          - {text: b.menu, next: main.menu}
"""


def test_nothing_everyone_can_use_leads_into_an_admin_dialog(tmp_path: Path) -> None:
    path = write_flows(tmp_path, HEAD + ADMIN_FLOW)
    problems = [where(p) for p in check(path) if isinstance(p, AdminLeak)]
    assert problems == [
        (AdminLeak, line_with(path, "command: peek"), None, None),
        (AdminLeak, line_with(path, "b.panel"), "main", "menu"),
    ]
    # The admin dialog may lead back to the users' windows, and /panel (admins only) may open it.
    assert all(line != line_with(path, "command: panel") for _, line, _, _ in problems)


def test_the_start_window_cannot_be_an_admin_dialog(tmp_path: Path) -> None:
    path = write_flows(tmp_path, HEAD.replace("start: main.menu", "start: panel.home") + ADMIN_FLOW)
    assert any(isinstance(p, AdminLeak) and "start" in str(p) for p in check(path))
