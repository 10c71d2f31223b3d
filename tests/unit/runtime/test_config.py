"""Settings: defaults, one clear message per bad variable, secrets never echoed, .env.example in sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from app.config import ConfigError, Settings, env_name, load_settings, read_environment
from tests.conftest import ROOT

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_nothing_set_means_polling_with_embedded_services() -> None:
    settings = load_settings({})
    assert settings.telegram_bot_token is None
    assert not settings.webhook_mode
    assert settings.embedded_redis
    assert settings.database_url == "sqlite://var/ugcbot.sqlite3"
    assert (settings.web_host, settings.web_port, settings.webhook_path) == ("127.0.0.1", 8080, "/webhook")
    assert (settings.env, settings.log_format, settings.welcome_bonus) == ("development", "console", 50)


def test_the_process_environment_does_not_leak_into_an_explicit_mapping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_PORT", "9999")
    assert load_settings({}).web_port == 8080


def test_values_are_parsed_from_strings() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "WEBHOOK_URL": "https://bot.example.com/webhook",
            "WEBHOOK_SECRET": "s3cret_-x",
            "WEB_PORT": "8443",
            "ADMIN_IDS": "1, 22 ,333",
            "LOG_LEVEL": "debug",
            "WELCOME_BONUS": "0",
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
        }
    )
    assert settings.webhook_mode
    assert settings.telegram_bot_token is not None and settings.telegram_bot_token.get_secret_value() == TOKEN
    assert settings.web_port == 8443
    assert settings.admin_ids == (1, 22, 333)
    assert settings.log_level == "DEBUG"
    assert settings.welcome_bonus == 0
    assert settings.telegram_api_url == "http://127.0.0.1:8081"


def test_log_format_follows_env_unless_set() -> None:
    assert load_settings({"ENV": "production"}).log_format == "json"
    assert load_settings({"ENV": "production", "LOG_FORMAT": "console"}).log_format == "console"
    assert load_settings({"LOG_FORMAT": "json"}).log_format == "json"


def test_empty_values_mean_unset() -> None:
    settings = load_settings({"REDIS_URL": "", "WEBHOOK_URL": "  ", "WEB_PORT": ""})
    assert settings.embedded_redis and not settings.webhook_mode and settings.web_port == 8080


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(ValueError, match="frozen"):
        settings.web_port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEB_PORT": "abc"}, "WEB_PORT: must be an integer 1–65535, got 'abc'"),
        ({"WEB_PORT": "70000"}, "WEB_PORT: must be an integer 1–65535, got '70000'"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN: must be <digits>:"),
        ({"TELEGRAM_BOT_TOKEN": "123456"}, "TELEGRAM_BOT_TOKEN: must be <digits>:"),
        ({"WEBHOOK_URL": "ftp://bot.example.com/hook"}, "WEBHOOK_URL: must be the public http(s) URL"),
        ({"WEBHOOK_URL": "bot.example.com/hook"}, "WEBHOOK_URL: must be the public http(s) URL"),
        (
            {"WEBHOOK_URL": "https://bot.example.com/webhook"},
            "TELEGRAM_BOT_TOKEN: required when WEBHOOK_URL is set",
        ),
        (
            {"WEBHOOK_SECRET": "has space"},
            "WEBHOOK_SECRET: must be 1–256 characters from A–Z, a–z, 0–9, _ and -",
        ),
        ({"WEBHOOK_SECRET": "x" * 257}, "WEBHOOK_SECRET: must be 1–256 characters"),
        ({"WEBHOOK_PATH": "webhook"}, "WEBHOOK_PATH: must be a URL path starting with /"),
        ({"TELEGRAM_API_URL": "api.telegram.org"}, "TELEGRAM_API_URL: must be an http(s) URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL: must be a redis://"),
        ({"ENV": "prod"}, "ENV: must be development or production, got 'prod'"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: must be console or json, got 'xml'"),
        (
            {"LOG_LEVEL": "loud"},
            "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'loud'",
        ),
        ({"WELCOME_BONUS": "-5"}, "WELCOME_BONUS: must be an integer ≥ 0, got '-5'"),
        ({"ADMIN_IDS": "12,abc"}, "ADMIN_IDS: must be a comma-separated list of Telegram user ids"),
    ],
)
def test_each_bad_variable_is_named_with_what_is_expected(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert message in str(caught.value)


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"WEB_PORT": "abc", "ENV": "prod", "WELCOME_BONUS": "many"})
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["WEB_PORT", "ENV", "WELCOME_BONUS"]


def test_secrets_are_never_echoed_in_errors() -> None:
    bad_token = "12345:has a space SECRETPART"
    bad_secret = "very secret value!"
    with pytest.raises(ConfigError) as caught:
        load_settings({"TELEGRAM_BOT_TOKEN": bad_token, "WEBHOOK_SECRET": bad_secret})
    text = str(caught.value)
    assert "SECRETPART" not in text and bad_secret not in text
    assert "TELEGRAM_BOT_TOKEN" in text and "WEBHOOK_SECRET" in text


def test_environment_overrides_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WEB_PORT=9001\nWELCOME_BONUS=7\n", encoding="utf-8")
    monkeypatch.setenv("WEB_PORT", "9002")
    settings = load_settings(read_environment(env_file))
    assert (settings.web_port, settings.welcome_bonus) == (9002, 7)


def test_env_example_parses_and_lists_every_setting() -> None:
    path = ROOT / ".env.example"
    values = {k: v or "" for k, v in dotenv_values(path).items()}
    load_settings(values)  # must not raise: the example is a working configuration
    expected = {env_name(field) for field in Settings.model_fields}
    assert set(values) == expected, "keep .env.example in sync with app/config.py"


def test_env_example_explains_every_variable() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[number - 1].startswith("#"), (
                f".env.example: {line.split('=')[0]} has no comment above it"
            )


def test_auto_providers_are_local_without_keys_and_real_with_them() -> None:
    offline = load_settings({})
    assert not offline.uses_elevenlabs and not offline.uses_omnihuman and offline.nano_banana_model is None
    assert not offline.uses_fal_webhooks

    keyed = load_settings(
        {"ELEVENLABS_API_KEY": "el-key", "FAL_KEY": "fal-key", "PUBLIC_URL": "https://bot.example.com/"}
    )
    assert keyed.uses_elevenlabs and keyed.uses_omnihuman
    assert keyed.nano_banana_model == "fal-ai/nano-banana/edit"
    assert keyed.uses_fal_webhooks and keyed.public_url == "https://bot.example.com"

    forced_local = load_settings(
        {"FAL_KEY": "k", "ELEVENLABS_API_KEY": "k", "TTS_PROVIDER": "local", "VIDEO_PROVIDER": "local",
         "IMAGE_PROVIDER": "local", "PUBLIC_URL": "https://b.example", "FAL_WEBHOOKS": "false"}
    )  # fmt: skip
    assert not forced_local.uses_elevenlabs and not forced_local.uses_omnihuman
    assert forced_local.nano_banana_model is None and not forced_local.uses_fal_webhooks
    pro = load_settings({"FAL_KEY": "k", "IMAGE_PROVIDER": "nano-banana-pro", "VIDEO_PROVIDER": "fal"})
    assert pro.nano_banana_model == "fal-ai/nano-banana-pro/edit" and pro.uses_omnihuman


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TTS_PROVIDER": "elevenlabs"}, "ELEVENLABS_API_KEY: required when TTS_PROVIDER=elevenlabs"),
        ({"VIDEO_PROVIDER": "fal"}, "FAL_KEY: required when VIDEO_PROVIDER=fal"),
        ({"IMAGE_PROVIDER": "nano-banana"}, "FAL_KEY: required when IMAGE_PROVIDER=nano-banana"),
        ({"FAL_WEBHOOKS": "true"}, "PUBLIC_URL: required when FAL_WEBHOOKS=true"),
        ({"FAL_INPUTS": "presigned"}, "PUBLIC_URL: required when FAL_INPUTS=presigned with local storage"),
        ({"S3_PRESIGN_SECONDS": "700000"}, "S3_PRESIGN_SECONDS"),
        ({"ELEVENLABS_OUTPUT_FORMAT": "flac"}, "ELEVENLABS_OUTPUT_FORMAT"),
    ],
)
def test_a_provider_chosen_without_what_it_needs_is_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert message in str(error.value)


def test_provider_keys_are_never_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"ELEVENLABS_API_KEY": "sk-secret-123", "FAL_KEY": "fal-secret-456", "WEB_PORT": "x"})
    assert "sk-secret-123" not in str(error.value) and "fal-secret-456" not in str(error.value)
