"""``python -m app catalog sync-voices``: the catalog's voices checked against the ElevenLabs account.

A catalog voice whose ``elevenlabs_voice_id`` the account lacks fails every take made with it (the user
sees "voice unavailable"), so this lists them — and exits 1 — before users do; it also lists the account's
voices the catalog does not use yet, for an operator choosing new ones. Nothing is changed anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import httpx

from app.config import ConfigError, load_settings
from app.services.catalog import VOICES_FILE, Voice, VoicesFile, read_catalog_file
from app.services.catalog_files import CatalogError
from app.services.providers import ProviderError
from app.services.speech.elevenlabs import AccountVoice, ElevenLabsSpeech

EXIT_OK, EXIT_MISSING, EXIT_CANNOT_CHECK = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app catalog", description="Tools for the characters and voices of catalog/."
    )
    commands = parser.add_subparsers(dest="command", required=True, title="commands")
    sync = commands.add_parser(
        "sync-voices",
        help="compare catalog voices with the ElevenLabs account's",
        description="List catalog voices whose ElevenLabs voice is missing from the account (exit 1) and "
        "account voices the catalog does not use. Reads ELEVENLABS_API_KEY and ELEVENLABS_URL.",
    )
    sync.add_argument(
        "--catalog",
        type=Path,
        default=None,
        help="the catalog directory (default: catalog/ next to FLOWS_PATH)",
    )
    sync.add_argument("--api-key", default=None, help="instead of ELEVENLABS_API_KEY (shows in `ps`: avoid)")
    sync.add_argument("--base-url", default=None, help="instead of ELEVENLABS_URL")
    return parser


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    secret = settings.elevenlabs_api_key
    api_key = args.api_key or (secret.get_secret_value() if secret is not None else "")
    if not api_key.strip():
        print(
            "No ElevenLabs API key: set ELEVENLABS_API_KEY (environment or .env) or pass --api-key.",
            file=sys.stderr,
        )
        return EXIT_CANNOT_CHECK
    catalog_dir = args.catalog if args.catalog is not None else settings.flows_path.parent / "catalog"
    base_url = args.base_url or settings.elevenlabs_url
    return asyncio.run(sync_voices(catalog_dir, api_key=api_key, base_url=base_url))


async def sync_voices(
    catalog_dir: Path,
    *,
    api_key: str,
    base_url: str,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print the comparison to ``out`` (problems that stop it to ``err``); the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    path = catalog_dir / VOICES_FILE
    try:
        # Names and samples are check-catalog's business: only the ids matter here.
        voices = read_catalog_file(path, VoicesFile).voices
    except CatalogError as exc:
        print(f"cannot read the catalog voices:\n{exc}", file=err)
        return EXIT_CANNOT_CHECK
    timeout = httpx.Timeout(30.0, connect=10.0)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as http:
        speech = ElevenLabsSpeech(http=http, api_key=api_key, base_url=base_url, tries=3)
        try:
            account = await speech.list_voices()
        except ProviderError as exc:
            print(f"cannot list the ElevenLabs voices ({exc.reason}): {exc.detail}", file=err)
            return EXIT_CANNOT_CHECK
    print(report(path, voices, account), file=out)
    known = {voice.voice_id for voice in account}
    return EXIT_MISSING if any(v.elevenlabs_voice_id not in known for v in voices) else EXIT_OK


def report(path: Path, voices: Sequence[Voice], account: Sequence[AccountVoice]) -> str:
    """The comparison as an operator reads it: what is missing, then what is new."""
    known = {voice.voice_id for voice in account}
    used = {voice.elevenlabs_voice_id for voice in voices}
    missing = [v for v in voices if v.elevenlabs_voice_id not in known]
    new = [v for v in account if v.voice_id not in used]
    lines = [f"ElevenLabs account: {len(account)} voices. Catalog ({path}): {len(voices)} voices.", ""]
    if missing:
        lines.append(
            f"MISSING from the account: {len(missing)} catalog voice(s); every take with them fails "
            f"until {path} names a voice the account has:"
        )
        rows: list[tuple[str, ...]] = [
            (v.id, v.elevenlabs_voice_id, v.gender, v.age_group, ", ".join(v.languages)) for v in missing
        ]
        lines += _table(("CATALOG VOICE", "ELEVENLABS ID", "GENDER", "AGE", "LANGUAGES"), rows)
    else:
        lines.append(f"All {len(voices)} catalog voices are in the account.")
    lines.append("")
    if new:
        lines.append(f"NEW in the account, not used by the catalog: {len(new)} voice(s):")
        rows = [(v.voice_id, v.name, v.category, _labels(v)) for v in new]
        lines += _table(("ELEVENLABS ID", "NAME", "CATEGORY", "LABELS"), rows)
    else:
        lines.append("The catalog uses every voice of the account.")
    return "\n".join(lines)


def _labels(voice: AccountVoice) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(voice.labels.items()))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), *(line(row) for row in rows)]
