"""The typed container hooks reach through ``ctx.services``; built once by the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.domain.pricing import Pricing
from app.services.catalog import Catalog
from app.services.clock import Clock, SystemClock
from app.services.costs import CostLedger
from app.services.faq import FaqCatalog
from app.services.generations import Generations
from app.services.ledger import Ledger
from app.services.providers import ImageEditor, JobQueue, ObjectStorage, SpeechSynthesizer, TalkingVideoMaker
from app.services.storage.copies import LocalCopies
from app.services.throttle import RedisThrottle
from app.services.users import UserService
from dialogs.i18n import TextCatalog

__all__ = ["Clock", "Services", "SystemClock", "build_services"]


@dataclass(frozen=True, slots=True)
class Services:
    users: UserService
    ledger: Ledger
    faq: FaqCatalog
    texts: TextCatalog
    welcome_bonus: int
    locales: tuple[str, ...]
    clock: Clock
    catalog: Catalog
    pricing: Pricing
    generations: Generations
    storage: ObjectStorage
    speech: SpeechSynthesizer
    image_editor: ImageEditor
    video_maker: TalkingVideoMaker
    jobs: JobQueue
    scratch_dir: Path
    """Where hooks and jobs put files they are working on (downloads, takes, edits) before storing them."""
    files: LocalCopies
    """Local paths of stored objects (what is sent to Telegram by file)."""
    throttle: RedisThrottle
    previews_per_hour: int
    costs: CostLedger
    """What paid provider calls cost (operators only)."""
    caption_styles: tuple[str, ...] = ()
    """Names of the caption styles of catalog/captions.yaml, the default one first (empty: none to choose)."""

    @property
    def default_locale(self) -> str:
        return self.texts.default_locale


def build_services(
    *,
    texts: TextCatalog,
    faq: FaqCatalog,
    locales: Sequence[str],
    welcome_bonus: int,
    catalog: Catalog,
    pricing: Pricing,
    storage: ObjectStorage,
    speech: SpeechSynthesizer,
    image_editor: ImageEditor,
    video_maker: TalkingVideoMaker,
    jobs: JobQueue,
    scratch_dir: Path,
    throttle: RedisThrottle,
    previews_per_hour: int = 5,
    caption_styles: Sequence[str] = (),
    clock: Clock | None = None,
) -> Services:
    """Services over an already initialised database (see ``app.db.setup.init_db``)."""
    clock = clock or SystemClock()
    ledger = Ledger(clock)
    users = UserService(ledger, clock, locales, texts.default_locale)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    return Services(
        users=users,
        ledger=ledger,
        faq=faq,
        texts=texts,
        welcome_bonus=welcome_bonus,
        locales=tuple(locales),
        clock=clock,
        catalog=catalog,
        pricing=pricing,
        generations=Generations(ledger, pricing, clock),
        storage=storage,
        speech=speech,
        image_editor=image_editor,
        video_maker=video_maker,
        jobs=jobs,
        scratch_dir=scratch_dir,
        files=LocalCopies(storage, scratch_dir / "copies"),
        throttle=throttle,
        previews_per_hour=previews_per_hour,
        costs=CostLedger(clock),
        caption_styles=tuple(caption_styles),
    )
