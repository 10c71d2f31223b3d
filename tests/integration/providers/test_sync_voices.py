"""``python -m app catalog sync-voices`` against the fake ElevenLabs: what an operator reads and the exit code
a deploy script checks — and the per-voice ElevenLabs settings the catalog now validates."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import pytest

from app.cli.catalog import sync_voices
from app.services.catalog import VoicesFile, read_catalog_file
from app.services.catalog_files import CatalogError
from app.services.providers import ElevenLabsVoiceSettings
from tests.conftest import ROOT
from tests.fakes.elevenlabs_server import EXTRA_VOICES, catalog_voices, elevenlabs_server
from tests.unit.catalog.files import LOCALES, VOICES_YAML

RACHEL = "21m00Tcm4TlvDq8ikWAM"  # ru_vera's voice in catalog/voices.yaml
CATALOG = ROOT / "catalog"


async def run_sync(catalog: Path, *, key: str, url: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await sync_voices(catalog, api_key=key, base_url=url, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """``python -m app`` as an operator runs it, with only ``env`` of the ElevenLabs settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "TTS_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), "FLOWS_PATH": str(ROOT / "flows.yaml"), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_an_account_with_every_catalog_voice_passes_and_lists_the_unused_ones() -> None:
    async with elevenlabs_server() as fake:
        code, out, _ = await run_sync(CATALOG, key=fake.key, url=fake.url)

    assert code == 0
    assert "All 8 catalog voices are in the account." in out
    assert "NEW in the account, not used by the catalog: 2 voice(s):" in out
    for voice in EXTRA_VOICES:
        row = next(line for line in out.splitlines() if voice.voice_id in line)
        assert voice.name in row and "premade" in row and f"gender={voice.labels['gender']}" in row


async def test_a_catalog_voice_missing_from_the_account_is_named_and_fails() -> None:
    account = [v for v in catalog_voices() if v.voice_id != RACHEL]
    async with elevenlabs_server(voices=account) as fake:
        code, out, _ = await run_sync(CATALOG, key=fake.key, url=fake.url)

    assert code == 1
    assert "MISSING from the account: 1 catalog voice(s)" in out
    (row,) = [line for line in out.splitlines() if RACHEL in line]
    assert row.split()[:4] == ["ru_vera", RACHEL, "female", "senior"]
    assert "The catalog uses every voice of the account." in out


async def test_the_table_columns_line_up() -> None:
    async with elevenlabs_server() as fake:
        _, out, _ = await run_sync(CATALOG, key=fake.key, url=fake.url)

    lines = out.splitlines()
    header = lines.index(next(line for line in lines if line.strip().startswith("ELEVENLABS ID")))
    name_column = lines[header].index("NAME")
    for row in lines[header + 1 : header + 3]:
        assert row[name_column - 2 : name_column] == "  " and row[name_column] != " "


async def test_a_refused_key_cannot_check_and_is_not_printed() -> None:
    async with elevenlabs_server() as fake:
        code, out, err = await run_sync(CATALOG, key="sk_wrong_0a1b2c3d4e5f", url=fake.url)

    assert code == 2
    assert "cannot list the ElevenLabs voices (provider_auth)" in err
    assert "sk_wrong_0a1b2c3d4e5f" not in out + err


async def test_a_broken_catalog_cannot_be_checked(tmp_path: Path) -> None:
    (tmp_path / "voices.yaml").write_text("voices: [{id: x}]\n", encoding="utf-8")
    async with elevenlabs_server() as fake:
        code, _, err = await run_sync(tmp_path, key=fake.key, url=fake.url)

    assert code == 2
    assert f"{tmp_path / 'voices.yaml'}:1:" in err
    assert fake.stats["voices_calls"] == 0


async def test_the_command_reads_the_key_and_url_from_the_environment(tmp_path: Path) -> None:
    account = [v for v in catalog_voices() if v.voice_id != RACHEL]
    async with elevenlabs_server(voices=account) as fake:
        env = {"ELEVENLABS_API_KEY": fake.key, "ELEVENLABS_URL": fake.url}
        code, out, _ = await cli("catalog", "sync-voices", env=env, cwd=tmp_path)

        assert fake.stats["voices_calls"] == 1
    assert code == 1
    assert f"Catalog ({CATALOG / 'voices.yaml'}): 8 voices." in out
    assert fake.key not in out


async def test_without_a_key_the_command_says_how_to_set_one(tmp_path: Path) -> None:
    code, out, err = await cli("catalog", "sync-voices", env={}, cwd=tmp_path)

    assert code == 2
    assert "No ElevenLabs API key: set ELEVENLABS_API_KEY" in err
    assert out == ""


def voices_with(tmp_path: Path, settings: str) -> Path:
    """The small valid voices file with ``settings`` added to its first voice."""
    marker = "    elevenlabs_voice_id: EXAVITQu4vr4xnSDxMaL\n"
    path = tmp_path / "voices.yaml"
    path.write_text(VOICES_YAML.replace(marker, marker + settings, 1), encoding="utf-8")
    return path


def test_voice_settings_from_the_catalog_reach_the_voice_params(tmp_path: Path) -> None:
    settings = "    elevenlabs_settings: {stability: 0.5, style: 0, use_speaker_boost: false, speed: 1.2}\n"
    voices = read_catalog_file(voices_with(tmp_path, settings), VoicesFile, LOCALES).voices

    assert voices[0].params("ru").elevenlabs_settings == ElevenLabsVoiceSettings(
        stability=0.5, style=0.0, use_speaker_boost=False, speed=1.2
    )
    assert voices[1].params("en").elevenlabs_settings == ElevenLabsVoiceSettings()


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (
            "{speed: 1.5}",
            ":9: voices[0].elevenlabs_settings.speed: Input should be less than or equal to 1.2",
        ),
        (
            "{speed: 0.5}",
            ":9: voices[0].elevenlabs_settings.speed: Input should be greater than or equal to 0.7",
        ),
        (
            "{stability: -0.1}",
            ":9: voices[0].elevenlabs_settings.stability: Input should be greater than or equal",
        ),
        ("{style: 2}", ":9: voices[0].elevenlabs_settings.style: Input should be less than or equal to 1"),
        (
            "{use_speaker_boost: 1}",
            ":9: voices[0].elevenlabs_settings.use_speaker_boost: Input should be a valid",
        ),
        ("{stabilty: 0.5}", ":9: voices[0].elevenlabs_settings.stabilty: Extra inputs are not permitted"),
    ],
)
def test_voice_settings_out_of_range_name_the_file_and_line(
    tmp_path: Path, settings: str, problem: str
) -> None:
    path = voices_with(tmp_path, f"    elevenlabs_settings: {settings}\n")

    with pytest.raises(CatalogError) as caught:
        read_catalog_file(path, VoicesFile, LOCALES)

    assert f"{path}{problem}" in str(caught.value)
