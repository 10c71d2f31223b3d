"""Credits rules: what amounts, reasons and keys a movement accepts, and the no-overdraft rule."""

from __future__ import annotations

import pytest

from app.domain.credits import (
    AUDIT_REASONS,
    CREDIT_REASONS,
    DEBIT_REASONS,
    MAX_AMOUNT,
    MAX_KEY_LENGTH,
    InsufficientCredits,
    InvalidAmountError,
    InvalidKeyError,
    InvalidReasonError,
    LedgerReason,
    apply_delta,
    signed_delta,
    validate_amount,
    validate_key,
    welcome_key,
)


@pytest.mark.parametrize("amount", [1, 50, MAX_AMOUNT])
def test_positive_whole_amounts_within_the_limit_are_accepted(amount: int) -> None:
    assert validate_amount(amount) == amount


@pytest.mark.parametrize("amount", [0, -1, MAX_AMOUNT + 1, 1.5, True, "10"])
def test_other_amounts_are_refused(amount: object) -> None:
    with pytest.raises(InvalidAmountError):
        validate_amount(amount)  # type: ignore[arg-type]


def test_every_reason_moves_credits_one_way() -> None:
    assert set(LedgerReason) == CREDIT_REASONS | DEBIT_REASONS | AUDIT_REASONS
    assert not CREDIT_REASONS & DEBIT_REASONS
    assert not (CREDIT_REASONS | DEBIT_REASONS) & AUDIT_REASONS
    assert signed_delta(50, "welcome_bonus", credit=True) == 50
    assert signed_delta(30, LedgerReason.HOLD, credit=False) == -30
    with pytest.raises(InvalidReasonError, match="cannot be used for a debit"):
        signed_delta(30, "welcome_bonus", credit=False)
    with pytest.raises(InvalidReasonError, match="unknown ledger reason"):
        signed_delta(30, "gift", credit=True)


def test_a_debit_beyond_the_balance_raises_with_what_was_missing() -> None:
    assert apply_delta(1, 50, -50) == 0
    with pytest.raises(InsufficientCredits) as info:
        apply_delta(1, 49, -50)
    assert (info.value.user_id, info.value.balance, info.value.requested) == (1, 49, 50)


def test_keys_must_be_non_empty_and_short() -> None:
    assert validate_key("hold:gen-1") == "hold:gen-1"
    for bad in ("", "   ", "k" * (MAX_KEY_LENGTH + 1)):
        with pytest.raises(InvalidKeyError):
            validate_key(bad)


def test_the_welcome_key_is_one_per_user() -> None:
    assert welcome_key(42) == "welcome:42" != welcome_key(43)
