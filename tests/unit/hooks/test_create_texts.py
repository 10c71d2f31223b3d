"""Every text the create and history hooks send by key exists in every locale (a typo shows the raw key)."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from app.domain.credits import LedgerReason
from app.domain.generations import GenerationStatus
from app.domain.pricing import VIDEO_FORMATS
from app.domain.steps import Phase
from app.services.catalog import AGE_GROUPS, GENDERS
from app.services.media_probe import MediaProblemReason
from app.services.providers import FAILURE_REASONS
from dialogs.i18n import TextCatalog
from tests.conftest import ROOT

MODULES = ("create", "create_look", "create_voice", "create_order", "history")
SOURCES = [ROOT / "dialogs" / "hooks" / f"{name}.py" for name in MODULES] + [ROOT / "app/jobs/delivery.py"]
# Literal keys handed to notify() or rendered directly.
LITERAL = re.compile(r'"((?:create|history|errors|common)\.[a-z0-9_.]+[a-z0-9_])"')
STATUSES = [s.value for s in GenerationStatus]
# Keys built from a value: the prefix and every value the domain, the catalog or a provider can give it.
FAMILIES = {
    "create.background.problem.": [*get_args(MediaProblemReason), "unreadable"],
    "create.format_name.": list(VIDEO_FORMATS),
    "create.voices.gender.": list(GENDERS),
    "create.voices.genders.": list(GENDERS),
    "create.voices.age.": list(AGE_GROUPS),
    "create.progress.step.": [*STATUSES, *(p.value for p in Phase), "running"],
    "history.status.": STATUSES,
    "errors.": list(FAILURE_REASONS),
    "balance.reason.": [r.value for r in LedgerReason],
}


@pytest.fixture(scope="module")
def texts() -> TextCatalog:
    return TextCatalog.load(ROOT / "catalog" / "texts", ("ru", "en"), "ru")


def used_keys() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        found |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    for prefix, values in FAMILIES.items():
        found |= {prefix + value for value in values}
    return found


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_key_the_hooks_use_has_a_text(texts: TextCatalog, locale: str) -> None:
    missing = sorted(key for key in used_keys() if not texts.has(locale, key))
    assert missing == []
