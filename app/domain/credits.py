"""Credits: the ledger's reasons, amount rules and the errors a money movement can raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

# Whole credits; there are no fractions of a credit anywhere in the product.
Credits: TypeAlias = int

# One movement may not exceed this: it keeps sums far from the 32-bit column limit and catches admin typos.
MAX_AMOUNT: Credits = 1_000_000
MAX_BALANCE: Credits = 1_000_000_000
MAX_KEY_LENGTH = 128
MAX_NOTE_LENGTH = 255
MAX_REF_LENGTH = 64


class LedgerReason(StrEnum):
    """Why credits moved; stored as the ledger row's ``reason`` and shown via ``balance.reason.<value>``."""

    WELCOME_BONUS = "welcome_bonus"
    ADMIN_GRANT = "admin_grant"
    ADMIN_REVOKE = "admin_revoke"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    PURCHASE = "purchase"
    REFUND = "refund"
    LOOK_EDIT = "look_edit"


CREDIT_REASONS = frozenset(
    {
        LedgerReason.WELCOME_BONUS,
        LedgerReason.ADMIN_GRANT,
        LedgerReason.RELEASE,
        LedgerReason.PURCHASE,
        LedgerReason.REFUND,
    }
)
DEBIT_REASONS = frozenset({LedgerReason.ADMIN_REVOKE, LedgerReason.HOLD, LedgerReason.LOOK_EDIT})
# Rows with a zero delta: they record what became of an earlier movement and never change the balance.
# A capture turns a generation's hold into a payment; the credits already left the balance with the hold, so
# a second debit would charge twice, and rewriting the hold row would break "rows are never updated".
AUDIT_REASONS = frozenset({LedgerReason.CAPTURE})


class CreditsError(Exception):
    """Base of every refused credits movement."""


class InvalidAmountError(CreditsError, ValueError):
    """An amount that is not a positive whole number of credits within the limit."""


class InvalidReasonError(CreditsError, ValueError):
    """A reason that does not exist or does not fit the direction of the movement."""


class InvalidKeyError(CreditsError, ValueError):
    """An idempotency key that is empty or too long."""


class InsufficientCredits(CreditsError):  # noqa: N818  (the name the product and the brief use)
    """A debit larger than the balance; nothing was written."""

    def __init__(self, user_id: int, balance: Credits, requested: Credits) -> None:
        super().__init__(f"user {user_id} has {balance} credits, {requested} requested")
        self.user_id = user_id
        self.balance = balance
        self.requested = requested

    @property
    def cost(self) -> Credits:
        """What the refused action costs (the same number as ``requested``)."""
        return self.requested


class IdempotencyConflict(CreditsError):  # noqa: N818  (reads as the situation, like InsufficientCredits)
    """An idempotency key replayed with a different user, amount or reason: a bug in the caller."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for {detail}")
        self.key = key


class UnknownUserError(CreditsError, LookupError):
    """Credits moved for a user that has never been seen."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"no user with id {user_id}")
        self.user_id = user_id


@dataclass(frozen=True, slots=True)
class LedgerEntryInfo:
    """One row of the ledger as the rest of the program sees it."""

    id: int
    user_id: int
    delta: Credits
    reason: LedgerReason
    idempotency_key: str
    balance_after: Credits
    created_at: datetime
    note: str | None = None
    ref: str | None = None
    replayed: bool = False
    """True when this call found the row written by an earlier call with the same key."""


def validate_amount(amount: int) -> Credits:
    """The amount itself if it is a positive whole number of credits within ``MAX_AMOUNT``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmountError(f"amount must be a whole number of credits, got {amount!r}")
    if amount <= 0:
        raise InvalidAmountError(f"amount must be positive, got {amount}")
    if amount > MAX_AMOUNT:
        raise InvalidAmountError(f"amount {amount} exceeds the limit of {MAX_AMOUNT}")
    return amount


def validate_key(key: str) -> str:
    if not key or not key.strip():
        raise InvalidKeyError("idempotency key must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"idempotency key is longer than {MAX_KEY_LENGTH} characters")
    return key


def signed_delta(amount: int, reason: LedgerReason | str, *, credit: bool) -> Credits:
    """The row's delta for a credit or a debit of ``amount``, refusing a reason that points the other way."""
    amount = validate_amount(amount)
    try:
        parsed = LedgerReason(reason)
    except ValueError:
        raise InvalidReasonError(f"unknown ledger reason {reason!r}") from None
    allowed = CREDIT_REASONS if credit else DEBIT_REASONS
    if parsed not in allowed:
        direction = "credit" if credit else "debit"
        raise InvalidReasonError(f"reason {parsed.value!r} cannot be used for a {direction}")
    return amount if credit else -amount


def audit_reason(reason: LedgerReason | str) -> LedgerReason:
    """``reason`` parsed, refusing one that moves credits (only audit rows may have a zero delta)."""
    try:
        parsed = LedgerReason(reason)
    except ValueError:
        raise InvalidReasonError(f"unknown ledger reason {reason!r}") from None
    if parsed not in AUDIT_REASONS:
        raise InvalidReasonError(f"reason {parsed.value!r} moves credits; it needs an amount")
    return parsed


def apply_delta(user_id: int, balance: Credits, delta: Credits) -> Credits:
    """The balance after ``delta``; a debit below zero raises ``InsufficientCredits``."""
    after = balance + delta
    if after < 0:
        raise InsufficientCredits(user_id, balance, -delta)
    if after > MAX_BALANCE:
        raise InvalidAmountError(f"balance would exceed {MAX_BALANCE}")
    return after


def welcome_key(user_id: int) -> str:
    """Idempotency key of the one-time welcome bonus."""
    return f"welcome:{user_id}"


def hold_key(generation_id: int) -> str:
    """Key of the debit that reserves a generation's cost when the user confirms it."""
    return f"hold:{generation_id}"


def capture_key(generation_id: int) -> str:
    """Key of the zero-delta row recording that a generation's hold was spent on a delivered video."""
    return f"capture:{generation_id}"


def release_key(generation_id: int) -> str:
    """Key of the credit that returns a failed generation's hold."""
    return f"release:{generation_id}"


def look_edit_key(draft_id: str, attempt: int) -> str:
    """Key of the debit for one look edit attempt of a draft."""
    return f"look_edit:{draft_id}:{attempt}"


def refund_key(charge_key: str) -> str:
    """Key of the credit that returns the debit written under ``charge_key``."""
    return f"refund:{charge_key}"
