"""The FAQ catalog: the repository's file loads; a broken file is refused naming file, line and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.catalog_files import CatalogError
from app.services.faq import FaqCatalog

ROOT = Path(__file__).resolve().parents[3]
LOCALES = ("ru", "en")


def load(tmp_path: Path, text: str) -> FaqCatalog:
    path = tmp_path / "faq.yaml"
    path.write_text(text, encoding="utf-8")
    return FaqCatalog.load(path, LOCALES, "ru")


def test_the_repository_faq_loads_in_file_order_for_each_locale() -> None:
    faq = FaqCatalog.load(ROOT / "catalog/faq.yaml", LOCALES, "ru")

    ru, en = faq.entries("ru"), faq.entries("en")
    assert [e.id for e in ru] == [e.id for e in en]
    assert ru[0].id == "what" and ru[0].question == "Что умеет бот?"
    assert en[0].question == "What does the bot do?"
    entry = faq.entry("credits", "en")
    assert entry is not None and entry.answer.startswith("Credits are")
    assert faq.entry("no_such", "ru") is None


def test_a_locale_without_texts_falls_back_to_the_default() -> None:
    faq = FaqCatalog.load(ROOT / "catalog/faq.yaml", LOCALES, "ru")
    assert faq.entries("de")[0].question == "Что умеет бот?"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "questions:\n  - id: what\n    question: {ru: Вопрос}\n    answer: {ru: Ответ, en: Answer}\n",
            ":3: questions[0].question: Value error, missing locale en",
        ),
        (
            "questions:\n  - id: a\n    question: {ru: a, en: a}\n    answer: {ru: a, en: a}\n"
            "  - id: a\n    question: {ru: b, en: b}\n    answer: {ru: b, en: b}\n",
            ":5: questions[1].id: Value error, question id 'a' is used twice",
        ),
        (
            "questions:\n  - id: a_very_long_question_id\n"
            "    question: {ru: a, en: a}\n    answer: {ru: a, en: a}\n",
            ":2: questions[0].id: Value error, id is longer than 16 bytes",
        ),
        (
            "questions:\n  - id: Bad-Id\n    question: {ru: a, en: a}\n    answer: {ru: a, en: a}\n",
            ":2: questions[0].id: String should match pattern",
        ),
        (
            "questions:\n  - id: a\n    question: {ru: a, en: a}\n    answer: {ru: a, en: ''}\n",
            ":4: questions[0].answer.en: String should have at least 1 character",
        ),
        (
            "questions:\n  - id: a\n    question: {ru: a, en: a}\n    answer: {ru: a, en: a}\n    extra: 1\n",
            ":5: questions[0].extra: Extra inputs are not permitted",
        ),
        ("questions: []\n", ":1: questions: List should have at least 1 item"),
        ("questions: [\n", "not valid YAML"),
    ],
)
def test_a_broken_file_is_refused_naming_file_line_and_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    with pytest.raises(CatalogError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert message.startswith(str(tmp_path / "faq.yaml"))
    assert problem in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"faq\.yaml: cannot read"):
        FaqCatalog.load(tmp_path / "faq.yaml", LOCALES, "ru")
