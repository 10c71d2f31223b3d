"""Tortoise models. Every change here needs a migration: ``python -m app migrate --make <name>``."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from app.domain import credits, users


class User(Model):
    """A Telegram user; ``id`` is the Telegram user id."""

    id = fields.BigIntField(primary_key=True, generated=False)
    username = fields.CharField(max_length=users.MAX_USERNAME, null=True)
    first_name = fields.CharField(max_length=users.MAX_FIRST_NAME, default="")
    locale = fields.CharField(max_length=users.MAX_LOCALE)
    start_payload = fields.CharField(max_length=users.MAX_START_PAYLOAD, null=True)
    created_at = fields.DatetimeField()
    registered_at = fields.DatetimeField(null=True)
    last_seen_at = fields.DatetimeField()
    is_banned = fields.BooleanField(default=False)
    # Cached sum of the user's ledger entries; written only by the ledger, in the entry's transaction.
    balance = fields.IntField(default=0)

    ledger_entries: fields.ReverseRelation[LedgerEntry]

    class Meta:
        table = "users"
        # Explicit, so that editing the docstring never changes the schema.
        table_description = "Telegram users"


class LedgerEntry(Model):
    """One movement of credits; rows are never updated or deleted."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="ledger_entries", on_delete=fields.RESTRICT
    )
    user_id: int
    delta = fields.IntField()
    reason = fields.CharField(max_length=32)
    idempotency_key = fields.CharField(max_length=credits.MAX_KEY_LENGTH, unique=True)
    balance_after = fields.IntField()
    note = fields.CharField(max_length=credits.MAX_NOTE_LENGTH, null=True)
    ref = fields.CharField(max_length=credits.MAX_REF_LENGTH, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "ledger_entries"
        table_description = "Every movement of credits"
        # A user's history, newest first.
        indexes = (("user_id", "id"),)
