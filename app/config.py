"""Typed settings of the bot, read once at start-up from the environment and ``.env``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

TOKEN_PATTERN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# What each variable must look like, in the words an operator reads in the error message.
EXPECTED: dict[str, str] = {
    "telegram_bot_token": "<digits>:<letters, digits, _ or ->, as given by @BotFather",
    "telegram_api_url": "an http(s) URL of the Bot API server, e.g. https://api.telegram.org",
    "webhook_url": "the public http(s) URL Telegram posts updates to, e.g. https://bot.example.com/webhook",
    "webhook_secret": "1–256 characters from A–Z, a–z, 0–9, _ and -",
    "webhook_path": "a URL path starting with /, e.g. /webhook",
    "webhook_max_connections": "an integer 1–100 (Telegram's limit)",
    "web_host": "a host name or IP address to listen on, e.g. 127.0.0.1",
    "web_port": "an integer 1–65535",
    "redis_url": "a redis:// rediss:// or unix:// URL, or nothing for the embedded redis-server",
    "database_url": "a database URL such as sqlite://var/ugcbot.sqlite3 or postgres://user:pass@host/db",
    "data_dir": "a directory path",
    "storage_dir": "a directory path, or nothing for DATA_DIR/storage",
    "env": "development or production",
    "log_format": "console or json",
    "log_level": "one of " + ", ".join(LOG_LEVELS),
    "welcome_bonus": "an integer ≥ 0",
    "admin_ids": "a comma-separated list of Telegram user ids, e.g. 123,456",
    "flows_path": "a path to the flows YAML file",
    "files_signing_key": "at least 16 characters",
    "s3_presign_seconds": "an integer from 60 to 604800 (7 days)",
    "elevenlabs_output_format": "an ElevenLabs output format such as mp3_44100_128 or opus_48000_64",
    "elevenlabs_concurrency": "an integer from 1 to 15 (your plan's concurrency)",
    "public_url": "the public http(s) URL of this bot's web server, e.g. https://bot.example.com",
}
SECRET_FIELDS = frozenset(
    {
        "telegram_bot_token",
        "webhook_secret",
        "fal_key",
        "elevenlabs_api_key",
        "s3_secret_access_key",
        "files_signing_key",
    }
)


class ConfigError(ValueError):
    """Settings that cannot be used; the message names every bad variable by its environment name."""


def env_name(field: str) -> str:
    return field.upper()


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("not an http(s) URL")
    return value


class Settings(BaseSettings):
    """Everything the runtime reads from its environment. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_path: str = "/webhook"
    webhook_max_connections: int = Field(40, ge=1, le=100)
    web_host: str = Field("127.0.0.1", min_length=1)
    web_port: int = Field(8080, ge=1, le=65535)
    redis_url: str | None = None
    database_url: str = Field("sqlite://var/ugcbot.sqlite3", min_length=1)
    data_dir: Path = Path("var")
    storage_dir: Path | None = None
    env: Literal["development", "production"] = "development"
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    welcome_bonus: int = Field(50, ge=0)
    admin_ids: tuple[int, ...] = ()
    admin_chat_id: int | None = None
    admin_feedback_chat_id: int | None = None
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(None, ge=1, le=65535)
    flows_path: Path = Path("flows.yaml")
    # Object storage: a local directory, or an S3 API (Cloudflare R2, MinIO, AWS).
    storage_backend: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "auto"
    s3_presign_seconds: int = Field(3600, ge=60, le=604800)
    # Where this bot's web server is reachable from the internet (fal.ai webhooks, signed file URLs).
    public_url: str | None = None
    files_signing_key: SecretStr | None = Field(None, min_length=16)
    # Providers: "auto" uses the real one when its key is set, the local one otherwise.
    tts_provider: Literal["auto", "local", "elevenlabs"] = "auto"
    elevenlabs_api_key: SecretStr | None = None
    elevenlabs_url: str = "https://api.elevenlabs.io"
    elevenlabs_model: str = Field("eleven_multilingual_v2", min_length=1)
    elevenlabs_output_format: str = Field("mp3_44100_128", pattern=r"^(mp3|opus|pcm|wav|ulaw|alaw)_[0-9_]+$")
    elevenlabs_concurrency: int = Field(3, ge=1, le=15)
    image_provider: Literal["auto", "local", "nano-banana", "nano-banana-pro"] = "auto"
    image_output_format: Literal["png", "jpeg"] = "png"
    video_provider: Literal["auto", "local", "omnihuman", "fal"] = "auto"
    omnihuman_model: Literal["v1.5", "v1"] = "v1.5"
    fal_key: SecretStr | None = None
    fal_queue_url: str = "https://queue.fal.run"
    fal_rest_url: str = "https://rest.fal.ai"
    fal_upload_url: str = "https://v3.fal.media"
    fal_inputs: Literal["upload", "presigned"] = "upload"
    fal_webhooks: bool | None = None
    fal_jwks_url: str = "https://rest.alpha.fal.ai/.well-known/jwks.json"
    fal_webhook_fallback_seconds: int = Field(60, ge=5, le=3600)
    omnihuman_resolution: Literal["720p", "1080p"] = "720p"
    # Generation workers (arq on the same Redis).
    run_worker: bool | None = None
    worker_concurrency: int = Field(50, ge=1, le=5000)
    worker_poll_seconds: float = Field(1.0, gt=0, le=30)
    job_timeout: int = Field(7200, ge=10)
    provider_poll_seconds: float = Field(5.0, gt=0, le=60)
    reaper_interval: int = Field(30, ge=1, le=3600)
    stale_after: int = Field(90, ge=5)
    generation_deadline: int = Field(3 * 3600, ge=60)
    summary_hour: int = Field(9, ge=0, le=23)
    upload_limit_mb: int = Field(50, ge=1, le=2000)
    previews_per_hour: int = Field(5, ge=0, le=1000)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() gathers the environment itself, so a test's mapping is never mixed with the process
        # environment and every value goes through one parsing path.
        return (init_settings,)

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TOKEN_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError("bad token shape")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError("bad secret")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _http_url(value).rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @field_validator("webhook_path")
    @classmethod
    def _webhook_path(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() for c in value):
            raise ValueError("not a path")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("not a redis URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("not a URL")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any) -> Any:
        if isinstance(value, str) and value.upper() in LOG_LEVELS:
            return value.upper()
        raise ValueError("unknown level")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="before")
    @classmethod
    def _log_format_follows_env(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("log_format") is None:
            data = {**data, "log_format": "json" if data.get("env") == "production" else "console"}
        return data

    @field_validator("s3_endpoint_url")
    @classmethod
    def _s3_endpoint(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value).rstrip("/")

    @field_validator("fal_queue_url", "fal_rest_url", "fal_upload_url", "fal_jwks_url", "elevenlabs_url")
    @classmethod
    def _service_url(cls, value: str) -> str:
        return _http_url(value).rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value).rstrip("/")

    @model_validator(mode="after")
    def _providers_need_keys(self) -> Settings:
        if self.video_provider in {"omnihuman", "fal"} and self.fal_key is None:
            raise ValueError(f"FAL_KEY: required when VIDEO_PROVIDER={self.video_provider}")
        if self.image_provider.startswith("nano-banana") and self.fal_key is None:
            raise ValueError(f"FAL_KEY: required when IMAGE_PROVIDER={self.image_provider}")
        if self.tts_provider == "elevenlabs" and self.elevenlabs_api_key is None:
            raise ValueError("ELEVENLABS_API_KEY: required when TTS_PROVIDER=elevenlabs")
        if self.fal_webhooks and self.public_url is None:
            raise ValueError("PUBLIC_URL: required when FAL_WEBHOOKS=true (fal.ai posts results there)")
        if self.fal_inputs == "presigned" and self.storage_backend == "local" and self.public_url is None:
            raise ValueError(
                "PUBLIC_URL: required when FAL_INPUTS=presigned with local storage (fal.ai reads files there)"
            )
        return self

    @property
    def uses_omnihuman(self) -> bool:
        return self.video_provider in {"omnihuman", "fal"} or (
            self.video_provider == "auto" and self.fal_key is not None
        )

    @property
    def uses_elevenlabs(self) -> bool:
        return self.tts_provider == "elevenlabs" or (
            self.tts_provider == "auto" and self.elevenlabs_api_key is not None
        )

    @property
    def nano_banana_model(self) -> str | None:
        """The fal.ai model that edits looks, or None for the local editor."""
        if self.image_provider == "local" or (self.image_provider == "auto" and self.fal_key is None):
            return None
        return (
            "fal-ai/nano-banana-pro/edit"
            if self.image_provider == "nano-banana-pro"
            else "fal-ai/nano-banana/edit"
        )

    @property
    def uses_fal_webhooks(self) -> bool:
        """fal.ai reports finished renders to PUBLIC_URL (polling stays the fallback); auto: if it is set."""
        return self.public_url is not None if self.fal_webhooks is None else self.fal_webhooks

    @model_validator(mode="after")
    def _webhook_needs_token(self) -> Settings:
        if self.webhook_url is not None and self.telegram_bot_token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN: required when WEBHOOK_URL is set")
        return self

    @model_validator(mode="after")
    def _s3_needs_bucket(self) -> Settings:
        if self.storage_backend == "s3":
            for name in ("s3_bucket", "s3_access_key_id", "s3_secret_access_key"):
                if getattr(self, name) is None:
                    raise ValueError(f"{env_name(name)}: required when STORAGE_BACKEND=s3")
        return self

    @property
    def worker_in_process(self) -> bool:
        """Whether the bot process renders videos itself: by default only with the embedded Redis (one
        machine, ``make run``); production runs ``python -m app worker`` processes instead."""
        return self.embedded_redis if self.run_worker is None else self.run_worker

    @property
    def webhook_mode(self) -> bool:
        return self.webhook_url is not None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def storage_root(self) -> Path:
        """Where the local object storage keeps uploads, takes and videos."""
        return self.storage_dir if self.storage_dir is not None else self.data_dir / "storage"

    @property
    def scratch_dir(self) -> Path:
        """Work files of hooks and renders, each in a temporary folder removed when it is done."""
        return self.data_dir / "work"


def read_environment(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """The process environment over the ``.env`` file (the environment wins, as in pydantic-settings)."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``env`` (default: the environment over ``.env``); raises :class:`ConfigError`."""
    source = read_environment() if env is None else env
    data: dict[str, str] = {}
    for field in Settings.model_fields:
        value = source.get(env_name(field))
        # An empty variable means "not set", so `.env.example` can list optional variables with no value.
        if value is not None and value.strip() != "":
            data[field] = value.strip()
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(error) for error in exc.errors())) from None


def _describe(error: ErrorDetails) -> str:
    loc = error["loc"]
    if not loc:
        # Cross-variable rules word their own message, starting with the variable's name.
        cause = error.get("ctx", {}).get("error")
        return str(cause) if cause is not None else error["msg"]
    field = str(loc[0])
    expected = EXPECTED.get(field, error["msg"])
    got = error.get("input")
    if field in SECRET_FIELDS:
        shown = "a value that does not fit (not shown: it is a secret)"
    elif isinstance(got, tuple | list):
        shown = repr(",".join(map(str, got)))
    else:
        shown = repr(got)
    return f"{env_name(field)}: must be {expected}, got {shown}"
