"""A small valid catalog on disk (two characters, two voices), for tests to break one rule at a time."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

LOCALES = ("ru", "en")

CHARACTERS_YAML = """\
characters:
  - id: anna
    name: {ru: Анна, en: Anna}
    gender: female
    age: 24
    age_group: young
    image: characters/anna.jpg
    tags: [casual]
  - id: boris
    name: {ru: Борис, en: Boris}
    gender: male
    age: 60
    age_group: senior
    image: characters/boris.png
    tags: [business, expert]
"""

VOICES_YAML = """\
voices:
  - id: ru_alisa
    name: {ru: Алиса, en: Alisa}
    gender: female
    age_group: young
    accent: {ru: русский, en: Russian}
    languages: [ru]
    elevenlabs_voice_id: EXAVITQu4vr4xnSDxMaL
    local: {voice: ru+f3, pitch: 65, speed: 165}
    sample: voices/ru_alisa.ogg
    description: {ru: Мягкий голос, en: A soft voice}
  - id: en_adam
    name: {ru: Адам, en: Adam}
    gender: male
    age_group: adult
    accent: {ru: американский, en: American}
    languages: [en, ru]
    elevenlabs_voice_id: pNInz6obpgDQGcFmaJgB
    local: {voice: en-us+m4, pitch: 35, speed: 155}
    sample: voices/en_adam.ogg
"""


def ogg_page(codec_header: bytes) -> bytes:
    """The first Ogg page of a stream starting with ``codec_header`` (the catalog does not check CRCs)."""
    header = b"OggS" + bytes([0, 2]) + bytes(8) + (1).to_bytes(4, "little") + bytes(8)
    return header + bytes([1, len(codec_header)]) + codec_header


OPUS_FILE = ogg_page(b"OpusHead" + bytes([1, 1, 0x38, 1, 0x80, 0xBB, 0, 0, 0, 0, 0]))
VORBIS_FILE = ogg_page(b"\x01vorbis" + bytes(22))


def write_image(path: Path, size: tuple[int, int] = (72, 128), kind: str = "JPEG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 120, 90)).save(path, kind)
    return path


CAPTIONS_YAML = """\
default: plain
styles:
  plain:
    font: DejaVu Sans
    size: 60
    colour: "#FFFFFF"
    outline_colour: "#000000"
    outline: 3
    margin_bottom: 200
    max_words: 3
    max_chars: 24
"""


def write_catalog(
    root: Path, characters: str = CHARACTERS_YAML, voices: str = VOICES_YAML, *, files: bool = True
) -> Path:
    """``root`` with both YAML files and (unless ``files`` is false) the portraits and samples named."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "characters.yaml").write_text(characters, encoding="utf-8")
    (root / "voices.yaml").write_text(voices, encoding="utf-8")
    (root / "captions.yaml").write_text(CAPTIONS_YAML, encoding="utf-8")
    if files:
        write_image(root / "characters/anna.jpg")
        write_image(root / "characters/boris.png", kind="PNG")
        (root / "voices").mkdir(exist_ok=True)
        (root / "voices/ru_alisa.ogg").write_bytes(OPUS_FILE)
        (root / "voices/en_adam.ogg").write_bytes(OPUS_FILE)
    return root
