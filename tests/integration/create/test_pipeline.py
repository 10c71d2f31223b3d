"""The render job on its own: what it stores, when it captures or releases the hold, what the user hears."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.domain.generations import Draft, GenerationInfo, GenerationStatus
from app.jobs.pipeline import Delivered, Pipeline
from app.services.catalog import Catalog
from app.services.pricing import load_pricing
from app.services.providers import ProviderError, RenderedVideo
from tests.conftest import ROOT
from tests.fakes.generations import FakeGenerations
from tests.fakes.renders import MemoryStorage, StillVideo
from tests.fakes.services import FakeLedger, FixedClock

USER = 1


@dataclass
class Told:
    """A Delivery that remembers what the user would have been told."""

    steps: list[str] = field(default_factory=list)
    delivered: list[tuple[int, Path, str]] = field(default_factory=list)
    failures: list[GenerationInfo] = field(default_factory=list)

    async def progress(self, info: GenerationInfo, step: str) -> None:
        self.steps.append(step)

    async def deliver(self, info: GenerationInfo, video: Path, *, provider: str) -> Delivered:
        self.delivered.append((info.id, video, provider))
        return Delivered(video_file_id="BAACvideo", audio_file_id="AwACvoice")

    async def failed(self, info: GenerationInfo) -> None:
        self.failures.append(info)


class BrokenVideo(StillVideo):
    async def make(
        self, image: Path, speech: Path, *, background: Path | None, workdir: Path
    ) -> RenderedVideo:
        raise ProviderError("video_failed", "ffmpeg said no")


@dataclass
class Setup:
    pipeline: Pipeline
    generations: FakeGenerations
    ledger: FakeLedger
    storage: MemoryStorage
    told: Told

    async def confirmed(self, *, speech_stored: bool = True) -> int:
        draft = Draft.new(USER, "en").with_format("talking_head").with_character("anna")
        draft = (
            draft.with_voice("en_ellie")
            .with_script("Hello!")
            .with_speech(speech_key="tmp/take.wav", speech_ogg_key="tmp/take.ogg", speech_seconds=2.0)
        )
        if speech_stored:
            self.storage.objects.update({"tmp/take.wav": b"wav", "tmp/take.ogg": b"ogg"})
        result = await self.generations.confirm(draft, key=f"confirm:{draft.draft_id}")
        return result.generation_id


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    clock = FixedClock()
    ledger = FakeLedger(clock, balances={USER: 50})
    generations = FakeGenerations(ledger, load_pricing(ROOT / "catalog" / "pricing.yaml"), clock)
    storage = MemoryStorage()
    told = Told()
    pipeline = Pipeline(
        generations=generations,  # type: ignore[arg-type]  # the fake has the service's methods
        catalog=Catalog.load(ROOT / "catalog", ("ru", "en"), "ru"),
        storage=storage,
        video_maker=StillVideo(),
        delivery=told,
        scratch_dir=tmp_path,
    )
    return Setup(pipeline, generations, ledger, storage, told)


async def test_a_rendered_video_is_stored_delivered_and_paid_for(setup: Setup) -> None:
    generation_id = await setup.confirmed()

    await setup.pipeline.run(generation_id)

    info = setup.generations.rows[generation_id]
    assert info.status == GenerationStatus.DONE
    assert info.video_key == f"users/{USER}/generations/{generation_id}/video.mp4"
    assert setup.storage.objects[info.video_key] == b"mp4"
    assert setup.storage.objects[info.audio_key or ""] == b"ogg"
    assert (info.video_file_id, info.audio_file_id) == ("BAACvideo", "AwACvoice")
    assert setup.told.steps == ["video", "storing"] and setup.told.delivered[0][2] == "local"
    assert setup.ledger.balances[USER] == 50 - info.cost
    assert [e.reason.value for e in setup.ledger.entries] == ["hold", "capture"]


async def test_a_second_run_of_a_finished_generation_does_nothing(setup: Setup) -> None:
    generation_id = await setup.confirmed()
    await setup.pipeline.run(generation_id)

    await setup.pipeline.run(generation_id)

    assert len(setup.told.delivered) == 1 and len(setup.ledger.entries) == 2


async def test_a_provider_failure_releases_the_hold_and_tells_why(setup: Setup) -> None:
    setup.pipeline.video_maker = BrokenVideo()
    generation_id = await setup.confirmed()

    await setup.pipeline.run(generation_id)

    [failed] = setup.told.failures
    assert failed.status == GenerationStatus.FAILED and failed.error_reason == "video_failed"
    assert setup.ledger.balances[USER] == 50
    assert [e.reason.value for e in setup.ledger.entries] == ["hold", "release"]


async def test_a_missing_input_file_fails_the_generation(setup: Setup) -> None:
    generation_id = await setup.confirmed(speech_stored=False)

    await setup.pipeline.run(generation_id)

    [failed] = setup.told.failures
    assert failed.error_reason == "missing_file" and setup.ledger.balances[USER] == 50
