"""The FAQ from ``catalog/faq.yaml``: questions with a stable id and a text per locale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from app.services.catalog_files import load_catalog_file

# Question ids travel in callback data next to the widget id; Telegram allows 64 bytes in all.
MAX_ID_BYTES = 16
ID_PATTERN = r"^[a-z0-9_]+$"

LocalizedText = dict[str, Annotated[str, Field(min_length=1)]]


class FaqQuestion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    question: LocalizedText
    answer: LocalizedText

    @field_validator("id")
    @classmethod
    def _short_unique_id(cls, value: str, info: ValidationInfo) -> str:
        if len(value.encode()) > MAX_ID_BYTES:
            raise ValueError(f"id is longer than {MAX_ID_BYTES} bytes")
        # Ids seen so far in this file, so the error points at the repeated question itself.
        seen: set[str] | None = (info.context or {}).get("seen_ids")
        if seen is not None:
            if value in seen:
                raise ValueError(f"question id {value!r} is used twice")
            seen.add(value)
        return value

    @field_validator("question", "answer")
    @classmethod
    def _every_locale(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        locales: Sequence[str] = (info.context or {}).get("locales", ())
        missing = [loc for loc in locales if loc not in value]
        if missing:
            raise ValueError(f"missing locale {', '.join(missing)}")
        return value


class FaqFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    questions: list[FaqQuestion] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> FaqFile:
        seen: set[str] = set()
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} is used twice")
            seen.add(question.id)
        return self


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: str
    question: str
    answer: str


class FaqCatalog:
    """Questions in file order; texts in the asked locale, falling back to the default one."""

    def __init__(self, faq: FaqFile, default_locale: str) -> None:
        self._faq = faq
        self._default = default_locale
        self._by_id = {q.id: q for q in faq.questions}

    @classmethod
    def load(cls, path: Path, locales: Sequence[str], default_locale: str) -> FaqCatalog:
        """Read and validate ``path``; raises ``CatalogError`` naming the file and line."""
        context: dict[str, Any] = {"locales": list(locales), "seen_ids": set()}
        return cls(load_catalog_file(path, FaqFile, context), default_locale)

    def entries(self, locale: str) -> list[FaqEntry]:
        return [self._entry(q, locale) for q in self._faq.questions]

    def entry(self, question_id: str, locale: str) -> FaqEntry | None:
        question = self._by_id.get(question_id)
        return None if question is None else self._entry(question, locale)

    def _entry(self, question: FaqQuestion, locale: str) -> FaqEntry:
        return FaqEntry(
            id=question.id,
            question=self._pick(question.question, locale),
            answer=self._pick(question.answer, locale),
        )

    def _pick(self, texts: dict[str, str], locale: str) -> str:
        return texts.get(locale) or texts.get(self._default) or next(iter(texts.values()), "")
