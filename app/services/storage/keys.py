"""Object keys: the layout by user and generation, and the one rule every key must pass."""

from __future__ import annotations

import re

MAX_KEY_LENGTH = 512
_KEY_CHARS = re.compile(r"[A-Za-z0-9_./-]+")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class StorageKeyError(ValueError):
    """A key that could escape the storage root or does not fit the key alphabet."""


def validate_key(key: str) -> str:
    """``key`` itself when it is a safe relative key (``[A-Za-z0-9_./-]``, no ``..``, no empty segments)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise StorageKeyError(f"key must be 1–{MAX_KEY_LENGTH} characters: {key[:80]!r}")
    if not _KEY_CHARS.fullmatch(key):
        raise StorageKeyError(f"key has characters outside [A-Za-z0-9_./-]: {key[:80]!r}")
    if key.startswith("/"):
        raise StorageKeyError(f"key must be relative: {key[:80]!r}")
    if any(part in {"", ".", ".."} for part in key.split("/")):
        raise StorageKeyError(f"key has an empty, '.' or '..' segment: {key[:80]!r}")
    return key


def generation_key(user_id: int, generation_id: int, name: str) -> str:
    """``users/<user_id>/generations/<generation_id>/<name>`` — where a generation's files live."""
    return validate_key(f"users/{_id(user_id)}/generations/{_id(generation_id)}/{_name(name)}")


def draft_key(user_id: int, draft_id: str, name: str) -> str:
    """``tmp/users/<user_id>/drafts/<draft_id>/<name>`` — files of a setup not yet confirmed."""
    return validate_key(f"tmp/users/{_id(user_id)}/drafts/{_name(draft_id)}/{_name(name)}")


def _id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StorageKeyError(f"ids in keys are non-negative integers, got {value!r}")
    return value


def _name(value: str) -> str:
    if not _NAME.fullmatch(value) or value in {".", ".."}:
        raise StorageKeyError(f"a key segment must match [A-Za-z0-9_.-]+, got {value[:80]!r}")
    return value
