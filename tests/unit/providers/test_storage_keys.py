"""Object keys: a generation's files live under its user, and no key can point outside the storage."""

from __future__ import annotations

import pytest

from app.services.storage.keys import StorageKeyError, draft_key, generation_key, validate_key


def test_generation_files_are_grouped_by_user_and_generation() -> None:
    assert generation_key(123, 45, "video.mp4") == "users/123/generations/45/video.mp4"


def test_draft_files_are_temporary_and_grouped_by_user() -> None:
    assert draft_key(123, "a1b2", "upload.webm") == "tmp/users/123/drafts/a1b2/upload.webm"


@pytest.mark.parametrize("name", ["..", ".", "a/b", "", "x y", "видео.mp4", "../video.mp4"])
def test_a_name_cannot_add_or_climb_folders(name: str) -> None:
    with pytest.raises(StorageKeyError):
        generation_key(1, 2, name)
    with pytest.raises(StorageKeyError):
        draft_key(1, name, "file.ogg")


@pytest.mark.parametrize("user_id", [-1, True])
def test_ids_are_plain_non_negative_integers(user_id: int) -> None:
    with pytest.raises(StorageKeyError):
        generation_key(user_id, 2, "video.mp4")


@pytest.mark.parametrize("key", ["users/1/generations/2/video.mp4", "tmp/a-b_c.d", "x"])
def test_ordinary_keys_pass_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "a/../b", "/abs", "a//b", "a/./b", "a/", "", "a b", "a\\b", "ключ", "a" * 513]
)
def test_keys_that_could_escape_or_confuse_are_refused(key: str) -> None:
    with pytest.raises(StorageKeyError):
        validate_key(key)
