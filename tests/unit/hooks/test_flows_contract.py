"""The hooks and flows.yaml agree: every hook the flows name exists, and every window gets the data its texts,
lists and conditions read — rendered through the real getters over in-memory services."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from app.domain.credits import LedgerReason
from app.domain.generations import Draft
from app.services.container import Services
from app.services.costs import CostLedger
from app.services.generations import Generations
from app.services.ledger import Ledger
from app.services.users import UserService
from dialogs.errors import UnknownOutcome, UnregisteredHook, WrongHookKind
from dialogs.hooks import build_registry, start
from dialogs.i18n import TextCatalog, placeholders
from dialogs.loader import load_flows
from dialogs.registry import HookKind
from dialogs.schema import Flows, PagerRow, SelectRow
from dialogs.validate import validate_flows
from tests.fakes.generations import FakeGenerations
from tests.fakes.services import FakeCosts, FakeLedger, FakeUsers
from tests.unit.hooks.conftest import FakeManager, MakeContext

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(ROOT / "flows.yaml").flows


@pytest.fixture(scope="module")
def texts(flows: Flows) -> TextCatalog:
    return TextCatalog.load(ROOT / flows.texts, flows.locales, flows.default_locale)


def hook_uses(flows: Flows) -> dict[str, HookKind]:
    used: dict[str, HookKind] = {}
    for dialog in flows.dialogs.values():
        if dialog.getter:
            used[dialog.getter] = "getter"
        for window in dialog.windows.values():
            if window.getter:
                used[window.getter] = "getter"
            transitions = [*window.buttons(), *window.selects(), *([window.input] if window.input else [])]
            used.update({t.action: "action" for t in transitions if t.action})
    used.update({c.action: "action" for c in flows.commands if c.action})
    return used


def test_the_registry_has_exactly_the_hooks_flows_yaml_names(flows: Flows, texts: TextCatalog) -> None:
    registry = build_registry()

    assert dict(registry.names()) == hook_uses(flows)
    loaded = load_flows(ROOT / "flows.yaml")
    hook_problems = [
        str(p)
        for p in validate_flows(loaded, registry, texts)
        if isinstance(p, UnregisteredHook | WrongHookKind | UnknownOutcome)
    ]
    assert hook_problems == []


def test_every_reason_and_language_has_a_text_in_every_locale(flows: Flows, texts: TextCatalog) -> None:
    for locale in flows.locales:
        missing = [r.value for r in LedgerReason if not texts.has(locale, f"balance.reason.{r.value}")]
        missing += [loc for loc in flows.locales if not texts.has(locale, f"language.name_{loc}")]
        assert missing == [], f"{locale}: no text for {missing}"


async def test_every_window_gets_the_data_its_texts_lists_and_conditions_read(
    flows: Flows, texts: TextCatalog, make_ctx: MakeContext, services: Services
) -> None:
    registry = build_registry()
    await start.register_user(make_ctx())
    # A video in My videos (its hold is a ledger row too), so that every list has a row to show.
    draft = Draft.new(1, "ru").with_format("talking_head").with_character("anna").with_voice("ru_alisa")
    draft = draft.with_script("Привет!")
    draft = draft.with_speech(speech_key="a.wav", speech_ogg_key=None, speech_seconds=2)
    await services.generations.confirm(draft, key="confirm:contract")
    # What the engine keeps in dialog_data for the windows reached by picking an item.
    dialog_data: dict[str, Any] = {
        select.id: "what" for _, _, w in flows.iter_windows() for select in w.selects()
    }

    for dialog_name, window_name, window in flows.iter_windows():
        if flows.dialogs[dialog_name].access == "admins":
            continue  # their getters read the real database: tests/e2e/test_admin.py drives every window
        where = f"{dialog_name}.{window_name}"
        for locale in flows.locales:
            ctx = make_ctx(locale=locale, manager=FakeManager(dialog_data=dict(dialog_data)))
            data: dict[str, Any] = {}
            for getter in (flows.dialogs[dialog_name].getter, window.getter):
                if getter:
                    data.update(await registry.get_getter(getter)(ctx))

            for line in window.text_lines():
                unfilled = placeholders(texts.get(locale, line.key)) - set(data)
                assert not unfilled, f"{where} ({locale}): text {line.key} needs {unfilled}"
            for row in window.rows():
                if isinstance(row, SelectRow):
                    items = data.get(row.select.items)
                    assert items, f"{where}: select {row.select.id} has no items in {row.select.items!r}"
                    for item in items:
                        assert row.select.item_id in item, f"{where}: an item has no {row.select.item_id!r}"
                        assert texts.render(locale, row.select.text, {"item": item}) != texts.get(
                            locale, row.select.text
                        ), f"{where}: {row.select.text} renders nothing from {item}"
            conditions = [line.when for line in window.text_lines()]
            conditions += [b.when for b in window.buttons()]
            conditions += [r.when for r in window.rows() if isinstance(r, PagerRow)]
            conditions += [s.when for s in window.selects()]
            for condition in filter(None, conditions):
                field = condition.lstrip("!").split(".", 1)[0]
                assert field in data, (
                    f"{where}: condition {condition!r} reads {field!r}, which no getter gives"
                )


@pytest.mark.parametrize(
    ("fake", "real"),
    [
        (FakeUsers, UserService),
        (FakeLedger, Ledger),
        (FakeGenerations, Generations),
        (FakeCosts, CostLedger),
    ],
)
def test_the_fakes_offer_the_same_methods_as_the_services(fake: type, real: type) -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")
        }

    real_methods, fake_methods = public(real), public(fake)
    for name, signature in real_methods.items():
        assert name in fake_methods, f"{fake.__name__} lacks {name}"
        assert list(fake_methods[name].parameters) == list(signature.parameters), name
