"""Render the sample of every voice in ``catalog/voices.yaml`` with its local espeak-ng voice, as OGG/Opus.

Usage: ``python scripts/make_voice_samples.py [--catalog DIR] [--out DIR] [ID ...]``; needs espeak-ng and
ffmpeg. The same catalog gives the same bytes on every run (ffmpeg in bit-exact mode).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from app.services.catalog import VOICES_FILE, Voice, VoicesFile, read_catalog_file

CATALOG = Path(__file__).resolve().parents[1] / "catalog"
# Spoken in the voice's own (first) language; {name} is the voice's name in that language.
SAMPLE_TEXTS = {
    "ru": "Привет! Меня зовут {name}. Вот так я озвучу ваш рекламный ролик.",
    "en": "Hi! I'm {name}. This is how I will voice your video ad.",
}
# What Telegram plays as a voice message: mono Opus at 48 kHz; 32 kb/s is plenty for speech.
OPUS_ARGS = ("-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "32k", "-application", "voip")


def sample_text(voice: Voice) -> str:
    """The sentence ``voice`` says in its sample."""
    language = voice.languages[0]
    if language not in SAMPLE_TEXTS:
        raise SystemExit(f"{voice.id}: no sample sentence for {language!r}; add one to SAMPLE_TEXTS")
    return SAMPLE_TEXTS[language].format(name=voice.name.get(language) or next(iter(voice.name.values())))


def render(voice: Voice, target: Path) -> None:
    """Speak ``voice``'s sample with espeak-ng and encode it to OGG/Opus at ``target``."""
    with tempfile.TemporaryDirectory() as workdir:
        wav = Path(workdir) / "sample.wav"
        local = voice.local
        espeak = ["espeak-ng", "-v", local.voice, "-p", str(local.pitch), "-s", str(local.speed)]
        subprocess.run([*espeak, "-w", str(wav), sample_text(voice)], check=True, capture_output=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Bit-exact flags keep encoder version strings and random Ogg serial numbers out of the file.
        ffmpeg = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), "-map_metadata", "-1"]
        bitexact = ["-fflags", "+bitexact", "-flags:a", "+bitexact"]
        subprocess.run([*ffmpeg, *OPUS_ARGS, *bitexact, str(target)], check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("ids", nargs="*", help="only these voices (default: all)")
    parser.add_argument("--catalog", type=Path, default=CATALOG, help="default: %(default)s")
    parser.add_argument("--out", type=Path, help="write <out>/<id>.ogg instead of each voice's sample path")
    args = parser.parse_args(argv)

    missing = [tool for tool in ("espeak-ng", "ffmpeg") if shutil.which(tool) is None]
    if missing:
        print(f"needs {' and '.join(missing)} (make bootstrap installs them)", file=sys.stderr)
        return 2
    voices = read_catalog_file(args.catalog / VOICES_FILE, VoicesFile).voices
    unknown = set(args.ids) - {v.id for v in voices}
    if unknown:
        print(f"unknown voice ids: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for voice in voices:
        if args.ids and voice.id not in args.ids:
            continue
        target = args.out / f"{voice.id}.ogg" if args.out else args.catalog / voice.sample
        try:
            render(voice, target)
        except subprocess.CalledProcessError as exc:
            print(
                f"{voice.id}: {exc.cmd[0]} failed: {exc.stderr.decode(errors='replace').strip()}",
                file=sys.stderr,
            )
            return 1
        print(f"{target}: {target.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
