"""The generation pipeline on a real database (SQLite; PostgreSQL where a test asks for both), real
``Generations``/``Ledger``/``StepLog``, local storage in the test's folder and scripted providers."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from app.db import ledger as ledger_queries
from app.db.migrations import apply_migrations
from app.db.models import GenerationStep, LedgerEntry, User
from app.db.setup import close_db, init_db
from app.domain.credits import LedgerReason
from app.domain.generations import Draft, GenerationInfo
from app.domain.pricing import Pricing
from app.domain.steps import RetryPolicy
from app.jobs.heartbeat import Heartbeats
from app.jobs.pipeline import Pipeline
from app.services.catalog import Catalog
from app.services.generations import Generations
from app.services.ledger import Ledger
from app.services.pricing import load_pricing
from app.services.steps import StepLog
from app.services.storage.local import LocalStorage
from dialogs.i18n import TextCatalog
from tests.conftest import ROOT
from tests.fakes.services import FixedClock, repo_texts
from tests.integration.jobs.fakes import (
    CopyCaptioner,
    CopyCompositor,
    GreenEditor,
    RecordingBot,
    RecordingDelivery,
    ScriptedVideoMaker,
    Sleeps,
)

BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
"""Runs a test on SQLite and on PostgreSQL; tests without it run on SQLite only."""

USER = 501
SCRIPT = "Fresh coffee every morning, just for you."
SPEECH_SECONDS = 2.0
# catalog/pricing.yaml: 3 cr. voice-over + 5 cr. per started 5 s, +5 cr. over a background.
TALKING_HEAD_COST = 8
BACKGROUND_COST = 13

for tool in ("ffmpeg", "ffprobe"):
    if shutil.which(tool) is None:  # pragma: no cover - the bootstrap installs them
        pytest.fail(f"{tool} is not installed: run make bootstrap", pytrace=False)


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 2 s 720x1280 H.264 + AAC MP4, as a talking-video provider returns one."""
    path = tmp_path_factory.mktemp("jobs-media") / "talking.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=720x1280:rate=15",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    return path


@pytest.fixture
async def postgres_url(new_postgres_database: Callable[[], Awaitable[str]]) -> str:
    """A fresh, migrated PostgreSQL database."""
    url = await new_postgres_database()
    await apply_migrations(url)
    return url


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """SQLite unless the test is parametrized with ``BOTH_DATABASES``."""
    kind = getattr(request, "param", "sqlite")
    return str(request.getfixturevalue(f"{kind}_url"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    await init_db(database_url)
    yield database_url
    await close_db()


@dataclass(frozen=True)
class Repository:
    """The repository's catalog, texts and prices: read once, shared by every test (nothing changes them)."""

    catalog: Catalog
    texts: TextCatalog
    pricing: Pricing


@pytest.fixture(scope="session")
def repo() -> Repository:
    return Repository(
        catalog=Catalog.load(ROOT / "catalog", ("ru", "en"), "ru"),
        texts=repo_texts(),
        pricing=load_pricing(ROOT / "catalog" / "pricing.yaml"),
    )


@dataclass
class World:
    """Everything a generation job touches, real where it holds state, scripted where it calls out."""

    root: Path
    clip: Path
    repo: Repository
    clock: FixedClock = field(default_factory=FixedClock)
    bot: RecordingBot = field(default_factory=RecordingBot)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.clock)
        self.generations = Generations(self.ledger, self.repo.pricing, self.clock)
        self.steps = StepLog(self.clock)
        self.storage = LocalStorage(self.root / "storage")
        self.scratch = self.root / "scratch"
        self.catalog = self.repo.catalog
        self.texts = self.repo.texts
        self.video = ScriptedVideoMaker(self.clip)
        self.editor = GreenEditor()
        self.compositor = CopyCompositor(self.clip)
        self.captioner = CopyCaptioner()
        self.delivery = RecordingDelivery(self.texts, self.bot)
        self.sleeps = Sleeps(self.clock)
        self.heartbeats = Heartbeats(self.generations)

    def pipeline(self, **overrides: Any) -> Pipeline:
        pipeline = Pipeline(
            generations=self.generations,
            steps=self.steps,
            catalog=self.catalog,
            storage=self.storage,
            video_maker=self.video,
            image_editor=self.editor,
            compositor=self.compositor,
            captioner=self.captioner,
            delivery=self.delivery,
            scratch_dir=self.scratch,
            retry=RetryPolicy(attempts=4, base=2.0, cap=60.0),
            poll_interval=5.0,
            heartbeats=self.heartbeats,
            sleep=self.sleeps,
            clock=self.clock,
        )
        return replace(pipeline, **overrides) if overrides else pipeline

    async def user(self, user_id: int = USER, *, credits: int = 50, locale: str = "en") -> int:
        now = self.clock.now()
        await User.create(id=user_id, locale=locale, created_at=now, last_seen_at=now)
        await self.ledger.credit(user_id, credits, LedgerReason.ADMIN_GRANT, f"fund:{user_id}")
        return user_id

    async def _upload(self, key: str, data: bytes | Path) -> str:
        source = self.root / "uploads" / key.replace("/", "_")
        source.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Path):
            shutil.copyfile(data, source)
        else:
            source.write_bytes(data)
        await self.storage.put_file(key, source, content_type="application/octet-stream")
        return key

    async def order(
        self,
        user_id: int = USER,
        *,
        video_format: str = "talking_head",
        captions: bool = True,
        locale: str = "en",
        look: bool = False,
    ) -> int:
        """A confirmed generation (its cost held) with its draft files in storage, as the flow leaves it."""
        draft = Draft.new(user_id, locale)
        tmp = f"tmp/users/{user_id}/drafts/{draft.draft_id}"
        draft = draft.with_format("background" if video_format == "background" else "talking_head")
        if video_format == "background":
            draft = draft.with_background(await self._upload(f"{tmp}/background.mp4", self.clip))
        draft = draft.with_character("anna").with_voice("en_ellie").with_script(SCRIPT)
        if look:
            draft = draft.with_edited_image(
                await self._upload(f"{tmp}/look.jpg", ROOT / "catalog" / "characters" / "sofia.jpg")
            )
        draft = draft.with_speech(
            speech_key=await self._upload(f"{tmp}/speech.wav", b"RIFF-speech"),
            speech_ogg_key=await self._upload(f"{tmp}/speech.ogg", b"OggS-speech"),
            speech_seconds=SPEECH_SECONDS,
        ).with_captions(captions, "karaoke" if captions else None)
        result = await self.generations.confirm(draft, key=f"confirm:{draft.draft_id}")
        return result.generation_id

    async def info(self, generation_id: int) -> GenerationInfo:
        info = await self.generations.get(generation_id)
        assert info is not None
        return info

    async def balance(self, user_id: int = USER) -> int:
        """The user's balance, checked against the sum of the ledger (they must never disagree)."""
        cached = await ledger_queries.cached_balance(user_id)
        assert cached == await ledger_queries.entries_sum(user_id), "balance differs from the ledger"
        return int(cached or 0)

    async def movements(self, user_id: int = USER) -> list[tuple[str, int]]:
        """The user's ledger after funding, oldest first: (reason, delta)."""
        rows = await LedgerEntry.filter(user_id=user_id).exclude(reason="admin_grant").order_by("id")
        return [(row.reason, row.delta) for row in rows]

    async def step_rows(self, generation_id: int) -> list[GenerationStep]:
        return await GenerationStep.filter(generation_id=generation_id).order_by("id")


@pytest.fixture
async def world(db: str, tmp_path: Path, clip: Path, repo: Repository) -> World:
    return World(tmp_path, clip, repo)
