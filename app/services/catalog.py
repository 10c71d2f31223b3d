"""The characters and voices of ``catalog/``: YAML checked together with the portraits and samples."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

from PIL import Image, UnidentifiedImageError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.services.catalog_files import CatalogError, load_catalog_file
from app.services.providers import AgeGroup, ElevenLabsVoiceSettings, Gender, VoiceParams

CHARACTERS_FILE = "characters.yaml"
VOICES_FILE = "voices.yaml"

# Character and voice ids travel in callback data next to the widget id; Telegram allows 64 bytes in all.
MAX_ID_BYTES = 24
ID_PATTERN = r"^[a-z0-9_]+$"
GENDERS: tuple[Gender, ...] = ("female", "male")
AGE_GROUPS: tuple[AgeGroup, ...] = ("young", "adult", "senior")
ADULT_FROM = 30
SENIOR_FROM = 55
# Ads show adults only.
MIN_AGE = 18
MAX_AGE = 100

# Telegram's sendPhoto limits (Bot API docs, "sendPhoto").
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_RATIO = 20
PHOTO_FORMATS = frozenset({"JPEG", "PNG"})

LocalizedText = dict[str, Annotated[str, Field(min_length=1)]]
Tag = Annotated[str, Field(pattern=ID_PATTERN)]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]

M = TypeVar("M", bound=BaseModel)


def age_group_of(age: int) -> AgeGroup:
    """The age group a character of ``age`` years belongs to."""
    if age >= SENIOR_FROM:
        return "senior"
    return "adult" if age >= ADULT_FROM else "young"


def photo_problem(path: Path) -> str | None:
    """Why Telegram would refuse ``path`` as a photo (missing, not JPEG/PNG, too big or too thin), or None."""
    try:
        size = path.stat().st_size
        with Image.open(path) as image:
            kind, (width, height) = image.format, image.size
    except FileNotFoundError:
        return "file not found"
    except (UnidentifiedImageError, Image.DecompressionBombError):
        return "not an image"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    limits = {
        f"is {kind}, a photo must be JPEG or PNG": kind not in PHOTO_FORMATS,
        f"is {size / 2**20:.1f} MB, Telegram takes photos up to {MAX_PHOTO_BYTES // 2**20} MB": (
            size > MAX_PHOTO_BYTES
        ),
        f"is {width}×{height}, Telegram needs width + height ≤ {MAX_PHOTO_SIDES}": (
            width + height > MAX_PHOTO_SIDES
        ),
        f"is {width}×{height}, Telegram needs a side ratio of at most {MAX_PHOTO_RATIO}": (
            max(width, height) > MAX_PHOTO_RATIO * min(width, height)
        ),
    }
    return next((problem for problem, broken in limits.items() if broken), None)


def voice_note_problem(path: Path) -> str | None:
    """Why ``path`` cannot be sent as a Telegram voice message (missing or not OGG/Opus), or None."""
    try:
        with path.open("rb") as file:
            head = file.read(512)
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if head[:4] != b"OggS" or len(head) < 27:
        return "not an OGG file, a voice sample must be OGG/Opus"
    # The first Ogg page's payload follows the 27-byte header and its segment table.
    payload = 27 + head[26]
    if head[payload : payload + 8] != b"OpusHead":
        return "an OGG file without Opus audio, a voice sample must be OGG/Opus"
    return None


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context or {}


def _short_unique_id(value: str, info: ValidationInfo, what: str) -> str:
    if len(value.encode()) > MAX_ID_BYTES:
        raise ValueError(f"id is longer than {MAX_ID_BYTES} bytes")
    # Ids seen so far in this file, so the error points at the repeated entry itself.
    seen: set[str] | None = _context(info).get("seen_ids")
    if seen is not None:
        if value in seen:
            raise ValueError(f"{what} id {value!r} is used twice")
        seen.add(value)
    return value


def _every_locale(value: dict[str, str] | None, info: ValidationInfo) -> dict[str, str] | None:
    locales: Sequence[str] = _context(info).get("locales", ())
    missing = [loc for loc in locales if value is not None and loc not in value]
    if missing:
        raise ValueError(f"missing locale {', '.join(missing)}")
    return value


def _catalog_file(value: Path, info: ValidationInfo, problem: Callable[[Path], str | None]) -> Path:
    """``value`` joined to the catalog root and checked by ``problem``; kept as written without a root."""
    root: Path | None = _context(info).get("root")
    if root is None:
        return value
    path = root / value
    if value.is_absolute() or not path.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"{value}: must be a path inside the catalog directory, relative to it")
    found = problem(path)
    if found is not None:
        raise ValueError(f"{value}: {found}")
    return path


class Character(BaseModel):
    """An actor of the gallery: a portrait with a name in every locale."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: LocalizedText
    gender: Gender
    age: int = Field(ge=MIN_AGE, le=MAX_AGE)
    age_group: AgeGroup
    image: Path
    tags: tuple[Tag, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str, info: ValidationInfo) -> str:
        return _short_unique_id(value, info, "character")

    @field_validator("name")
    @classmethod
    def _name(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        _every_locale(value, info)
        return value

    @field_validator("age_group")
    @classmethod
    def _age_group(cls, value: AgeGroup, info: ValidationInfo) -> AgeGroup:
        age = info.data.get("age")
        if age is not None and age_group_of(age) != value:
            raise ValueError(
                f"age {age} is {age_group_of(age)}, not {value} "
                f"(young < {ADULT_FROM}, adult {ADULT_FROM}–{SENIOR_FROM - 1}, senior ≥ {SENIOR_FROM})"
            )
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: Path, info: ValidationInfo) -> Path:
        return _catalog_file(value, info, photo_problem)


class LocalVoice(BaseModel):
    """How the offline espeak-ng synthesizer speaks as this voice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # espeak-ng voice name with an optional variant: ``ru``, ``en-us+f2``, ``en-gb+m4``.
    voice: str = Field(pattern=r"^[a-z]{2,3}(-[a-z0-9]+)*(\+[A-Za-z0-9_]+)?$")
    pitch: int = Field(ge=0, le=99)
    speed: int = Field(ge=80, le=450)  # words per minute, espeak-ng's accepted range

    @property
    def language(self) -> str:
        return self.voice.split("+")[0].split("-")[0]

    @property
    def variant(self) -> str:
        """The ``+f2`` part, or empty."""
        _, plus, variant = self.voice.partition("+")
        return plus + variant


class ElevenLabsSettings(BaseModel):
    """How ElevenLabs speaks as this voice; a field left out keeps the voice's own default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stability: float | None = Field(None, ge=0, le=1)  # low: livelier and less even, high: steady
    similarity_boost: float | None = Field(None, ge=0, le=1)
    style: float | None = Field(None, ge=0, le=1)  # exaggeration; above 0 it also slows synthesis
    use_speaker_boost: StrictBool | None = None
    speed: float | None = Field(None, ge=0.7, le=1.2)  # ElevenLabs' accepted range

    def params(self) -> ElevenLabsVoiceSettings:
        return ElevenLabsVoiceSettings(
            stability=self.stability,
            similarity_boost=self.similarity_boost,
            style=self.style,
            use_speaker_boost=self.use_speaker_boost,
            speed=self.speed,
        )


class Voice(BaseModel):
    """A voice of the gallery, with the ids each speech provider knows it by and a sample to listen to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: LocalizedText
    gender: Gender
    age_group: AgeGroup
    accent: LocalizedText
    languages: tuple[Language, ...] = Field(min_length=1)  # the first one is the voice's own
    elevenlabs_voice_id: str = Field(pattern=r"^[A-Za-z0-9]{20}$")
    elevenlabs_settings: ElevenLabsSettings | None = None
    local: LocalVoice
    sample: Path
    description: LocalizedText | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str, info: ValidationInfo) -> str:
        return _short_unique_id(value, info, "voice")

    @field_validator("name", "accent", "description")
    @classmethod
    def _texts(cls, value: dict[str, str] | None, info: ValidationInfo) -> dict[str, str] | None:
        return _every_locale(value, info)

    @field_validator("languages")
    @classmethod
    def _unique_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value

    @field_validator("local")
    @classmethod
    def _speaks_own_language(cls, value: LocalVoice, info: ValidationInfo) -> LocalVoice:
        languages = info.data.get("languages")
        if languages and value.language != languages[0]:
            raise ValueError(
                f"espeak-ng voice {value.voice!r} speaks {value.language}, "
                f"the voice's first language is {languages[0]}"
            )
        return value

    @field_validator("sample")
    @classmethod
    def _sample(cls, value: Path, info: ValidationInfo) -> Path:
        return _catalog_file(value, info, voice_note_problem)

    def params(self, language: str) -> VoiceParams:
        """What a synthesizer needs to speak ``language``; a language the voice lacks gives its own."""
        spoken = language if language in self.languages else self.languages[0]
        local = self.local.voice if spoken == self.languages[0] else spoken + self.local.variant
        return VoiceParams(
            voice_id=self.id,
            language=spoken,
            local_voice=local,
            pitch=self.local.pitch,
            speed=self.local.speed,
            elevenlabs_voice_id=self.elevenlabs_voice_id,
            elevenlabs_settings=(
                self.elevenlabs_settings.params() if self.elevenlabs_settings else ElevenLabsVoiceSettings()
            ),
        )


def _every_gender(genders: set[str], what: str) -> None:
    if not genders:
        raise ValueError(f"no {what}s: the gallery would be empty")
    missing = [g for g in GENDERS if g not in genders]
    if missing:
        raise ValueError(f"no {' or '.join(missing)} {what}: that gender would get an empty gallery")


def _no_repeats(ids: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise ValueError(f"{what} id {item_id!r} is used twice")
        seen.add(item_id)


class CharactersFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Emptiness is checked below: a length constraint here would also fire when every entry has an error.
    characters: tuple[Character, ...]

    @model_validator(mode="after")
    def _whole_gallery(self) -> CharactersFile:
        _no_repeats([c.id for c in self.characters], "character")
        _every_gender({c.gender for c in self.characters}, "character")
        return self


class VoicesFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    voices: tuple[Voice, ...]  # emptiness is checked below, as for characters

    @model_validator(mode="after")
    def _whole_gallery(self) -> VoicesFile:
        _no_repeats([v.id for v in self.voices], "voice")
        _every_gender({v.gender for v in self.voices}, "voice")
        return self


def read_catalog_file(path: Path, model: type[M], locales: Sequence[str] = (), root: Path | None = None) -> M:
    """One catalog file validated as ``model``; files it names are checked only when ``root`` is given."""
    context: dict[str, Any] = {"locales": list(locales), "seen_ids": set(), "root": root}
    return load_catalog_file(path, model, context)


class Catalog:
    """The galleries in file order; lookups by id answer None for ids that are not (or no longer) there."""

    def __init__(self, characters: Sequence[Character], voices: Sequence[Voice], default_locale: str) -> None:
        self._characters = tuple(characters)
        self._voices = tuple(voices)
        self._character_by_id = {c.id: c for c in self._characters}
        self._voice_by_id = {v.id: v for v in self._voices}
        self.default_locale = default_locale

    @classmethod
    def load(cls, root: Path, locales: Sequence[str], default_locale: str) -> Catalog:
        """Both files under ``root``, checked; ``CatalogError`` lists every problem as PATH:LINE: message."""
        problems: list[str] = []
        characters: CharactersFile | None = None
        voices: VoicesFile | None = None
        try:
            characters = read_catalog_file(root / CHARACTERS_FILE, CharactersFile, locales, root)
        except CatalogError as exc:
            problems.append(str(exc))
        try:
            voices = read_catalog_file(root / VOICES_FILE, VoicesFile, locales, root)
        except CatalogError as exc:
            problems.append(str(exc))
        if problems or characters is None or voices is None:
            raise CatalogError("\n".join(problems))
        return cls(characters.characters, voices.voices, default_locale)

    def characters(self, gender: Gender | None = None) -> list[Character]:
        return [c for c in self._characters if gender is None or c.gender == gender]

    def character(self, character_id: str) -> Character | None:
        return self._character_by_id.get(character_id)

    def voices(self, gender: Gender | None = None) -> list[Voice]:
        return [v for v in self._voices if gender is None or v.gender == gender]

    def voice(self, voice_id: str) -> Voice | None:
        return self._voice_by_id.get(voice_id)

    def text(self, texts: Mapping[str, str] | None, locale: str) -> str:
        """``texts`` (a name, accent or description) in ``locale``, else in the default locale, else empty."""
        if not texts:
            return ""
        return texts.get(locale) or texts.get(self.default_locale) or next(iter(texts.values()))
