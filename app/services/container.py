"""The typed container hooks reach through ``ctx.services``; built once by the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.domain.pricing import Pricing
from app.metrics import Metrics
from app.services.admin import Abandon, AdminDesk
from app.services.broadcasts import Broadcasts
from app.services.catalog import Catalog
from app.services.clock import Clock, SystemClock
from app.services.costs import CostLedger
from app.services.faq import FaqCatalog
from app.services.feedback import FeedbackDesk, Messenger
from app.services.generations import Generations
from app.services.ledger import Ledger
from app.services.providers import ImageEditor, JobQueue, ObjectStorage, SpeechSynthesizer, TalkingVideoMaker
from app.services.stats import AdminStats
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
    admin_ids: frozenset[int] = frozenset()
    """Telegram ids of the admins (ADMIN_IDS)."""
    admin: AdminDesk | None = None
    stats: AdminStats | None = None
    broadcasts: Broadcasts | None = None
    feedback: FeedbackDesk | None = None

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
    admin_ids: Sequence[int] = (),
    messenger: Messenger | None = None,
    feedback_chat_id: int | None = None,
    abandon: Abandon | None = None,
    metrics: Metrics | None = None,
) -> Services:
    """Services over an already initialised database (see ``app.db.setup.init_db``).

    ``messenger`` (the Bot) sends feedback to ``feedback_chat_id``; ``abandon`` is how an admin's refund fails
    a video and tells its user (the pipeline's); without them there is no feedback desk / admin desk."""
    clock = clock or SystemClock()
    ledger = Ledger(clock, on_moved=metrics.credits_moved if metrics else None)
    users = UserService(ledger, clock, locales, texts.default_locale)
    generations = Generations(ledger, pricing, clock, on_finished=metrics.video_finished if metrics else None)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    admin = None
    if abandon is not None:
        admin = AdminDesk(
            users=users, ledger=ledger, generations=generations, jobs=jobs, clock=clock, abandon=abandon
        )
    feedback = FeedbackDesk(messenger, feedback_chat_id, clock, texts) if messenger is not None else None
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
        generations=generations,
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
        admin_ids=frozenset(admin_ids),
        admin=admin,
        stats=AdminStats(clock),
        broadcasts=Broadcasts(clock),
        feedback=feedback,
    )
