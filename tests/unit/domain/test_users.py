"""User rules: language from Telegram's language_code, and the deep-link payload kept from /start."""

from __future__ import annotations

import pytest

from app.domain.users import MAX_START_PAYLOAD, locale_from_language_code, normalize_start_payload


@pytest.mark.parametrize(
    ("code", "locale"),
    [
        ("ru", "ru"),
        ("en", "en"),
        ("en-US", "en"),
        ("EN_gb", "en"),
        ("ru-RU", "ru"),
        ("de", "ru"),
        ("uk", "ru"),
        ("", "ru"),
        (None, "ru"),
    ],
)
def test_locale_follows_telegram_language_with_russian_as_default(code: str | None, locale: str) -> None:
    assert locale_from_language_code(code, ("ru", "en"), "ru") == locale


def test_default_locale_is_the_callers_choice() -> None:
    assert locale_from_language_code("fr", ("ru", "en"), "en") == "en"


@pytest.mark.parametrize(
    ("payload", "kept"),
    [("ref_42", "ref_42"), ("  ads-1 ", "ads-1"), ("", None), ("   ", None), (None, None), (42, None)],
)
def test_start_payload_is_stripped_and_empty_means_none(payload: object, kept: str | None) -> None:
    assert normalize_start_payload(payload) == kept


def test_start_payload_is_cut_to_telegrams_limit() -> None:
    assert normalize_start_payload("x" * 100) == "x" * MAX_START_PAYLOAD
