"""Tortoise models. Every change here needs a migration: ``python -m app migrate --make <name>``."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from app.domain import credits, generations, users


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
    # When a message to the user last failed with "bot was blocked by the user"; broadcasts skip them.
    blocked_at = fields.DatetimeField(null=True)
    # Updates received from the user, added in batches (activity stats, A3).
    updates_count = fields.IntField(default=0, db_default=0)
    # Cached sum of the user's ledger entries; written only by the ledger, in the entry's transaction.
    balance = fields.IntField(default=0)

    ledger_entries: fields.ReverseRelation[LedgerEntry]
    generations: fields.ReverseRelation[Generation]

    class Meta:
        table = "users"
        # Explicit, so that editing the docstring never changes the schema.
        table_description = "Telegram users"
        # Admin stats: new users per window, active users per window; lookup by @username.
        indexes = (("created_at",), ("last_seen_at",), ("username",))


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
        # (and admin stats: credits issued / spent / returned by reason over a window)
        indexes = (("user_id", "id"), ("reason", "created_at"))


class Generation(Model):
    """One video: what it is made of, how far the worker got, what it cost and what came out."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="generations", on_delete=fields.RESTRICT
    )
    user_id: int
    # The idempotency key of the confirming click: a double tap finds the first row instead of making another.
    confirm_key = fields.CharField(max_length=credits.MAX_KEY_LENGTH, unique=True)
    draft_id = fields.CharField(max_length=generations.DRAFT_ID_LENGTH)
    locale = fields.CharField(max_length=users.MAX_LOCALE)
    format = fields.CharField(max_length=16)
    character_id = fields.CharField(max_length=generations.MAX_CATALOG_ID)
    voice_id = fields.CharField(max_length=generations.MAX_CATALOG_ID)
    background_key = fields.CharField(max_length=generations.MAX_OBJECT_KEY, null=True)
    edited_image_key = fields.CharField(max_length=generations.MAX_OBJECT_KEY, null=True)
    script = fields.TextField()
    speech_key = fields.CharField(max_length=generations.MAX_OBJECT_KEY)
    speech_ogg_key = fields.CharField(max_length=generations.MAX_OBJECT_KEY, null=True)
    speech_seconds = fields.FloatField()
    # Word timings of the take (JSON in storage), for captions; None: estimated from the script.
    speech_words_key = fields.CharField(max_length=generations.MAX_OBJECT_KEY, null=True)
    captions = fields.BooleanField(default=True, db_default=True)
    caption_style = fields.CharField(max_length=generations.MAX_CATALOG_ID, null=True)
    status = fields.CharField(max_length=16)
    step = fields.CharField(max_length=generations.MAX_STEP, null=True)
    # Credits held on confirm; captured on delivery or released (refunded = True) on failure.
    cost = fields.IntField()
    refunded = fields.BooleanField(default=False)
    error_reason = fields.CharField(max_length=generations.MAX_ERROR_REASON, null=True)
    error_detail = fields.CharField(max_length=generations.MAX_ERROR_DETAIL, null=True)
    video_key = fields.CharField(max_length=generations.MAX_OBJECT_KEY, null=True)
    audio_key = fields.CharField(max_length=generations.MAX_OBJECT_KEY, null=True)
    video_file_id = fields.CharField(max_length=generations.MAX_FILE_ID, null=True)
    thumb_key = fields.CharField(max_length=generations.MAX_OBJECT_KEY, null=True)
    video_width = fields.IntField(null=True)
    video_height = fields.IntField(null=True)
    video_seconds = fields.FloatField(null=True)
    audio_file_id = fields.CharField(max_length=generations.MAX_FILE_ID, null=True)
    created_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # Times a worker took the job up; the reaper fails a generation that keeps dying.
    attempts = fields.IntField(default=0, db_default=0)
    # Last sign of life from the worker rendering it (each step, each poll of the provider).
    heartbeat_at = fields.DatetimeField(null=True)
    # Who makes the talking video ("omnihuman", "local"), set when it is requested: failure rates by provider.
    video_provider = fields.CharField(max_length=32, null=True)

    steps: fields.ReverseRelation[GenerationStep]

    class Meta:
        table = "generations"
        table_description = "Videos: inputs, progress, cost and result"
        # My videos (a user's newest first), the worker's sweep of unfinished ones, admin stats by day.
        indexes = (("user_id", "created_at"), ("status",), ("created_at",))


class GenerationStep(Model):
    """One step of a generation's pipeline: whether it finished, its output, the provider's request id.

    A step is ``running`` from its first attempt; ``request_id`` is written before the worker waits on a
    provider, so a worker restarted mid-wait polls that request instead of paying for another one.
    """

    id = fields.BigIntField(primary_key=True)
    generation: fields.ForeignKeyRelation[Generation] = fields.ForeignKeyField(
        "models.Generation", related_name="steps", on_delete=fields.CASCADE
    )
    generation_id: int
    step = fields.CharField(max_length=generations.MAX_STEP)
    status = fields.CharField(max_length=16)
    request_id = fields.CharField(max_length=generations.MAX_REQUEST_ID, null=True)
    # JSON of what the step made (object keys, sizes, timings); read back instead of redoing the step.
    output = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    error = fields.CharField(max_length=generations.MAX_ERROR_DETAIL, null=True)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "generation_steps"
        table_description = "Pipeline steps of a generation: outputs and provider request ids"
        unique_together = (("generation_id", "step"),)


class ProviderCall(Model):
    """One paid call to an outside provider and what it cost (an estimate): the operators' cost ledger.

    Rows are only added. ``generation`` is set for calls made for a video, ``user`` for calls made while a
    user was setting one up (a take, a look edit); both are kept when the generation or user goes.
    """

    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=32)
    model = fields.CharField(max_length=128)
    units = fields.FloatField()
    unit = fields.CharField(max_length=16)
    # Millionths of a US dollar: exact sums on every database.
    usd_micros = fields.BigIntField()
    request_id = fields.CharField(max_length=128, null=True)
    user_id = fields.BigIntField(null=True)
    generation_id = fields.BigIntField(null=True)
    purpose = fields.CharField(max_length=32)
    created_at = fields.DatetimeField()

    class Meta:
        table = "provider_calls"
        table_description = "Paid provider calls: provider, model, units and estimated USD"
        # Admin stats sum costs over a time window, per provider.
        indexes = (("created_at",), ("generation_id",))
        # A call recorded again (a step retried after a crash) is one call: the provider's id says so.
        unique_together = (("provider", "request_id"),)


class Broadcast(Model):
    """A message an admin sends to many users; a worker sends it, resumably, at a bounded rate."""

    id = fields.BigIntField(primary_key=True)
    admin_id = fields.BigIntField()
    text = fields.TextField()
    # A photo broadcast: the photo's Telegram file_id, ``text`` is its caption.
    photo_file_id = fields.CharField(max_length=255, null=True)
    # The admin's formatting (bold, links…): the message's entities as Bot API JSON, sent along unchanged.
    entities = fields.TextField(null=True)
    # None: every user; N: users seen in the last N days.
    active_days = fields.IntField(null=True)
    # draft → queued → sending → done (or cancelled)
    status = fields.CharField(max_length=16)
    total = fields.IntField(default=0)
    delivered = fields.IntField(default=0)
    blocked = fields.IntField(default=0)
    failed = fields.IntField(default=0)
    # The admin's chat and status message, edited with the progress.
    progress_chat_id = fields.BigIntField(null=True)
    progress_message_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # Last sign of life of the worker sending it; the reaper frees the job of a sender that died.
    heartbeat_at = fields.DatetimeField(null=True)

    class Meta:
        table = "broadcasts"
        table_description = "Admin broadcasts: content, audience, progress and outcome"


class BroadcastDelivery(Model):
    """One recipient of a broadcast. Written *before* the message is sent, so a restarted sender never sends
    twice: a row still ``sending`` after a crash is counted as failed, not sent again."""

    id = fields.BigIntField(primary_key=True)
    broadcast_id = fields.BigIntField()
    user_id = fields.BigIntField()
    # sending → delivered | blocked | failed
    status = fields.CharField(max_length=16)
    error = fields.CharField(max_length=255, null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "broadcast_deliveries"
        table_description = "Recipients of broadcasts and how each delivery ended"
        unique_together = (("broadcast_id", "user_id"),)


class FeedbackMessage(Model):
    """A user's message forwarded to the admin feedback chat: an admin's reply to it goes back to the user."""

    id = fields.BigIntField(primary_key=True)
    user_id = fields.BigIntField()
    admin_chat_id = fields.BigIntField()
    admin_message_id = fields.BigIntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "feedback_messages"
        table_description = "User feedback forwarded to the admins, for routing their replies"
        unique_together = (("admin_chat_id", "admin_message_id"),)


class AdminAction(Model):
    """What an admin did (grant, revoke, ban, retry, refund, broadcast): the audit trail."""

    id = fields.BigIntField(primary_key=True)
    admin_id = fields.BigIntField()
    action = fields.CharField(max_length=32)
    target_user_id = fields.BigIntField(null=True)
    target_generation_id = fields.BigIntField(null=True)
    detail = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "admin_actions"
        table_description = "Audit trail of admin actions"
        indexes = (("admin_id", "created_at"),)
