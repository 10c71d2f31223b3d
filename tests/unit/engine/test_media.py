"""What a getter's media field becomes: a URL, a file of the repository, or a Telegram file_id."""

from __future__ import annotations

from pathlib import Path

from aiogram.types import ContentType
from aiogram_dialog.api.entities import MediaAttachment, MediaId

from dialogs.widgets import media_attachment


def test_http_url(tmp_path: Path) -> None:
    media = media_attachment("video", "https://cdn.example.com/a.mp4", tmp_path)
    assert media == MediaAttachment(ContentType.VIDEO, url="https://cdn.example.com/a.mp4")


def test_existing_file_relative_to_base_dir_or_absolute(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    photo = tmp_path / "catalog" / "anna.jpg"
    photo.write_bytes(b"jpg")
    assert media_attachment("photo", "catalog/anna.jpg", tmp_path) == MediaAttachment(
        ContentType.PHOTO, path=str(photo)
    )
    assert media_attachment("photo", photo, Path("/nonexistent")) == MediaAttachment(
        ContentType.PHOTO, path=str(photo)
    )


def test_anything_else_is_a_telegram_file_id(tmp_path: Path) -> None:
    media = media_attachment("voice", "AwACAgIAAxkBAAIC", tmp_path)
    assert media == MediaAttachment(ContentType.VOICE, file_id=MediaId("AwACAgIAAxkBAAIC"))


def test_missing_file_shows_no_media_instead_of_a_broken_file_id(tmp_path: Path) -> None:
    assert media_attachment("photo", "missing/file.jpg", tmp_path) is None
    assert media_attachment("photo", "anna.jpg", tmp_path) is None


def test_ready_attachment_and_empty_values(tmp_path: Path) -> None:
    ready = MediaAttachment(ContentType.DOCUMENT, url="https://x.example/a.pdf")
    assert media_attachment("photo", ready, tmp_path) is ready
    assert media_attachment("photo", None, tmp_path) is None
    assert media_attachment("photo", "", tmp_path) is None
    assert media_attachment("photo", 42, tmp_path) is None
