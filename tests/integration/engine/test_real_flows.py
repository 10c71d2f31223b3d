"""The real flows.yaml clicked through with preview-data hooks: every window reachable, no button breaks."""

from __future__ import annotations

from typing import Any

from aiogram.types import Video

from dialogs.i18n import TextCatalog
from dialogs.preview import stub_registry
from dialogs.schema import Flows
from tests.conftest import ROOT
from tests.fakes.hooks import FakeHooks
from tests.integration.engine.conftest import MakeBot
from tests.integration.engine.harness import Bot, load_flows

MAX_DEPTH = 12
# What "the user sends something" means for a window with an input: a short text, or a small video.
TYPED = "<typed>"
# A tap written "label\0outcome": the tapped button's action answers that outcome instead of "ok".
OUTCOME = "\0"
SAMPLE_VIDEO = {
    "file_id": "BAACAgIAAxkBAAIsample",
    "file_unique_id": "AgADsample",
    "width": 360,
    "height": 640,
    "duration": 3,
    "mime_type": "video/mp4",
    "file_size": 100_000,
}


def preview_hooks(flows: Flows) -> FakeHooks:
    """Getters answer with the preview data of the windows that use them; actions return "ok"."""
    data: dict[str, dict[str, Any]] = {}
    for dialog in flows.dialogs.values():
        if dialog.getter:
            data.setdefault(dialog.getter, dict(flows.preview)).update(dialog.preview)
        for window in dialog.windows.values():
            if window.getter:
                merged = {**flows.preview, **dialog.preview, **window.preview}
                data.setdefault(window.getter, {}).update(merged)
    hooks = FakeHooks()
    for name, values in data.items():
        hooks.getter(name, values)
    for name in stub_registry(flows).names():
        if hooks.registry.kind_of(name) is None:
            hooks.action(name)
    return hooks


async def replay(bot: Bot, hooks: FakeHooks, command: str, clicks: tuple[str, ...]) -> None:
    await bot.send(f"/{command}")
    for text in clicks:
        if text == TYPED:
            await send_input(bot)
            continue
        label, _, outcome = text.partition(OUTCOME)
        # Every action answers ``outcome`` for this one tap (actions that do not map it keep the user there).
        hooks.outcomes.update(dict.fromkeys(hooks.outcomes, outcome or None))
        await bot.click(label)
        hooks.outcomes.update(dict.fromkeys(hooks.outcomes, None))


async def send_input(bot: Bot) -> None:
    """Answer the window's input with something it accepts (the preview hooks take anything)."""
    state = await bot.current_state()
    assert state is not None
    dialog, window = state.split(":")
    spec = bot.compiled.flows.window(dialog, window)
    assert spec is not None and spec.input is not None
    if "text" in spec.input.accept:
        await bot.send("A line of text")
    else:
        await bot.send_message(video=Video.model_validate(SAMPLE_VIDEO))


async def test_every_window_is_reachable_and_every_button_works(make_bot: MakeBot) -> None:
    source = (ROOT / "flows.yaml").read_text(encoding="utf-8")
    flows = load_flows(source)
    texts = TextCatalog.load(ROOT / flows.texts, flows.locales, flows.default_locale)
    hooks = preview_hooks(flows)
    # As an admin: the admin panel's windows are part of "every window".
    bot = make_bot(source, hooks, base_dir=ROOT, catalog_=texts, admins=frozenset({1}))

    expected = {f"{d}:{w}" for d, w, _ in flows.iter_windows()}
    seen: set[str] = set()
    frontier = [(c.command, ()) for c in flows.commands]
    while frontier:
        command, clicks = frontier.pop()
        await replay(bot, hooks, command, clicks)
        state = await bot.current_state()
        assert state is not None, (command, clicks)
        buttons = [b for b in bot.flat_buttons if b]
        if state in seen and clicks:
            continue
        seen.add(state)
        if len(clicks) < MAX_DEPTH:
            taps = [b for b in buttons if _is_callback(bot, b)]
            frontier += [(command, (*clicks, b)) for b in taps]
            dialog, window = state.split(":")
            spec = flows.window(dialog, window)
            assert spec is not None
            outcomes = {o for t in (*spec.buttons(), *spec.selects()) for o in t.on}
            frontier += [(command, (*clicks, f"{b}{OUTCOME}{o}")) for b in taps for o in sorted(outcomes)]
            if spec.input is not None:
                frontier.append((command, (*clicks, TYPED)))
    assert expected <= seen


def _is_callback(bot: Bot, text: str) -> bool:
    markup = bot.last.reply_markup
    assert markup is not None
    return any(b.text == text and b.callback_data for row in markup.inline_keyboard for b in row)
