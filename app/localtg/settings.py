"""Settings of the local Telegram stand-in, read from ``LOCAL_TELEGRAM_*`` environment variables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024
DEFAULT_TOKEN = "123456:LOCAL-dev-token"
DEFAULT_PORT = 8081
TOKEN_RE = re.compile(r"^(\d+):[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's own limits (Bot API docs, 2026); tests may shrink them to stay fast."""

    text: int = 4096
    caption: int = 1024
    callback_data_bytes: int = 64
    upload_bytes: int = 50 * MB
    photo_upload_bytes: int = 10 * MB
    url_photo_bytes: int = 5 * MB
    url_file_bytes: int = 20 * MB
    download_bytes: int = 20 * MB
    user_upload_bytes: int = 2000 * MB
    media_group_max: int = 10
    inline_buttons: int = 100
    photo_side_sum: int = 10000
    photo_ratio: int = 20


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server needs; one bot token is accepted."""

    token: str = DEFAULT_TOKEN
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    bot_first_name: str = "Local Bot"
    bot_username: str = "local_dev_bot"
    files_dir: Path | None = None
    limits: Limits = field(default_factory=Limits)
    webhook_retry_first: float = 0.2
    webhook_retry_max: float = 10.0
    pre_checkout_timeout: float = 10.0
    strict_https_webhook: bool = False

    def __post_init__(self) -> None:
        if not TOKEN_RE.match(self.token):
            raise ValueError(f"bot token must look like <digits>:<text>, got {self.token!r}")

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from ``LOCAL_TELEGRAM_{TOKEN,HOST,PORT,BOT_NAME,BOT_USERNAME,FILES_DIR}``."""
        files_dir = environ.get("LOCAL_TELEGRAM_FILES_DIR")
        return cls(
            token=environ.get("LOCAL_TELEGRAM_TOKEN", DEFAULT_TOKEN),
            host=environ.get("LOCAL_TELEGRAM_HOST", "127.0.0.1"),
            port=int(environ.get("LOCAL_TELEGRAM_PORT", str(DEFAULT_PORT))),
            bot_first_name=environ.get("LOCAL_TELEGRAM_BOT_NAME", "Local Bot"),
            bot_username=environ.get("LOCAL_TELEGRAM_BOT_USERNAME", "local_dev_bot"),
            files_dir=Path(files_dir) if files_dir else None,
        )
