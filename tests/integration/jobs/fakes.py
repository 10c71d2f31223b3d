"""Scripted stand-ins for what the pipeline calls out to: providers that fail or stall on cue, a delivery
and a bot that record what the user and the admins would have seen."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.state import State
from aiogram.methods import SendMessage

from app.domain.generations import GenerationInfo
from app.domain.steps import Phase
from app.jobs.delivery import DialogDelivery
from app.jobs.pipeline import Delivered, FinalVideo
from app.services.providers import EditedImage, EditRefused, RenderedVideo, WordTiming
from dialogs.i18n import TextCatalog
from tests.fakes.renders import MemoryThrottle
from tests.fakes.services import FixedClock

PENDING: Final = "pending"
"""In a collect script: the provider is still rendering (``collect`` answers None)."""

Outcome = BaseException | str


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


@dataclass
class ScriptedVideoMaker:
    """``TalkingVideoMaker`` that raises, stalls or finishes as its scripts say, counting every call.

    ``submit_script``: exceptions the next submits raise, in order; once empty, submits succeed.
    ``collect_script``: per collect, ``PENDING`` or an exception; once empty, the clip comes back.
    """

    clip: Path
    name: str = "scripted"
    submit_script: list[BaseException] = field(default_factory=list)
    collect_script: list[Outcome] = field(default_factory=list)
    submit_calls: int = 0
    images: list[bytes] = field(default_factory=list)
    """The look each submit was asked to animate."""
    requests: list[str] = field(default_factory=list)
    """Renders the provider accepted (and would bill)."""
    collected: list[str] = field(default_factory=list)
    on_collect: Callable[[], Awaitable[None]] | None = None
    """Runs at the start of every collect: a test's way in while the worker waits on the provider."""

    async def submit(self, image: Path, speech: Path, *, workdir: Path, reference: str = "") -> str:
        self.submit_calls += 1
        self.images.append(await asyncio.to_thread(image.read_bytes))
        if self.submit_script:
            raise self.submit_script.pop(0)
        self.requests.append(f"req-{len(self.requests) + 1}")
        return self.requests[-1]

    async def collect(self, request_id: str, *, workdir: Path) -> RenderedVideo | None:
        self.collected.append(request_id)
        if self.on_collect is not None:
            await self.on_collect()
        if self.collect_script:
            outcome = self.collect_script.pop(0)
            if outcome == PENDING:
                return None
            assert isinstance(outcome, BaseException), outcome
            raise outcome
        path = await asyncio.to_thread(_copy, self.clip, workdir / f"{request_id}.mp4")
        return RenderedVideo(path, 2.0, 720, 1280, self.name)


@dataclass
class GreenEditor:
    """``ImageEditor`` that "puts the character on green" by copying the image; may refuse on cue."""

    name: str = "green"
    refuse: bool = False
    prompts: list[str] = field(default_factory=list)

    async def edit(self, image: Path, prompt: str, *, workdir: Path) -> EditedImage:
        self.prompts.append(prompt)
        if self.refuse:
            raise EditRefused("content_refused", "will not edit this person")
        path = await asyncio.to_thread(_copy, image, workdir / "green.png")
        return EditedImage(path, "on green", self.name)


@dataclass
class CopyCompositor:
    """``Compositor`` whose composite is the talking clip itself (a real, probe-able MP4)."""

    clip: Path
    calls: list[tuple[Path, Path]] = field(default_factory=list)

    async def composite(self, talking: Path, background: Path, *, workdir: Path) -> RenderedVideo:
        self.calls.append((talking, background))
        path = await asyncio.to_thread(_copy, self.clip, workdir / "composite.mp4")
        return RenderedVideo(path, 2.0, 720, 1280, "ffmpeg")


@dataclass
class CopyCaptioner:
    """``Captioner`` that returns a copy of the video it got, remembering the words and style."""

    calls: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)

    async def burn(
        self, video: Path, words: Sequence[WordTiming], style: str | None, *, workdir: Path
    ) -> Path:
        self.calls.append((tuple(w.word for w in words), style))
        return await asyncio.to_thread(_copy, video, workdir / "captioned.mp4")


@dataclass(frozen=True)
class Received:
    """What the user got for a video: the message's fields, checked while the files still existed."""

    generation_id: int
    width: int
    height: int
    seconds: float
    size: int
    provider: str
    video_bytes: int
    thumb_jpeg: bool
    link: str | None


@dataclass
class RecordingBot:
    """The two Bot API calls the worker side makes; ``refuse`` chats answer with an API error."""

    sent: list[tuple[int, str]] = field(default_factory=list)
    actions: list[tuple[int, str]] = field(default_factory=list)
    refuse: set[int] = field(default_factory=set)

    async def send_message(self, chat_id: int, text: str, **_: Any) -> None:
        if chat_id in self.refuse:
            raise TelegramAPIError(SendMessage(chat_id=chat_id, text=text), "Forbidden: bot was blocked")
        self.sent.append((chat_id, text))

    async def send_chat_action(self, chat_id: int, action: str, **_: Any) -> None:
        self.actions.append((chat_id, action))

    def to(self, chat_id: int) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


class _NoDialog:
    """A user with no open dialog: the failure notice is all they get."""

    def has_context(self) -> bool:
        return False


class _NoDialogs:
    def bg(self, bot: object, user_id: int, chat_id: int) -> _NoDialogs:
        return self

    @asynccontextmanager
    async def fg(self) -> AsyncIterator[_NoDialog]:
        yield _NoDialog()


@dataclass
class RecordingDelivery:
    """``Delivery`` that records progress and the result, and tells of failures through the real
    ``DialogDelivery.failed`` (its text, in the user's language) to a recording bot."""

    texts: TextCatalog
    bot: RecordingBot
    phases: list[tuple[int, Phase]] = field(default_factory=list)
    working_calls: int = 0
    received: list[Received] = field(default_factory=list)
    failed_calls: list[int] = field(default_factory=list)
    deliver_script: list[BaseException] = field(default_factory=list)
    """Exceptions the next deliveries raise (a worker stopped right there), in order."""

    async def progress(self, info: GenerationInfo, phase: Phase) -> None:
        self.phases.append((info.id, phase))

    async def working(self, info: GenerationInfo) -> None:
        self.working_calls += 1

    async def deliver(self, info: GenerationInfo, video: FinalVideo) -> Delivered:
        if self.deliver_script:
            raise self.deliver_script.pop(0)
        thumb = video.thumb.read_bytes() if video.thumb is not None else b""
        self.received.append(
            Received(
                generation_id=info.id,
                width=video.width,
                height=video.height,
                seconds=video.seconds,
                size=video.size,
                provider=video.provider,
                video_bytes=video.path.stat().st_size,
                thumb_jpeg=thumb.startswith(b"\xff\xd8"),
                link=video.link,
            )
        )
        return Delivered(video_file_id=f"video-{info.id}", audio_file_id=f"voice-{info.id}")

    async def failed(self, info: GenerationInfo) -> None:
        self.failed_calls.append(info.id)
        dialog = DialogDelivery(
            bot=self.bot,  # type: ignore[arg-type]  # duck-typed: send_message only
            dialogs=_NoDialogs(),  # type: ignore[arg-type]
            progress_state=State("progress"),
            result_state=State("result"),
            media_ids=None,  # type: ignore[arg-type]  # failures send no media
            files=None,  # type: ignore[arg-type]
            texts=self.texts,
            throttle=MemoryThrottle(),  # type: ignore[arg-type]
        )
        await dialog.failed(info)

    def phases_of(self, generation_id: int) -> list[Phase]:
        return [phase for gid, phase in self.phases if gid == generation_id]


@dataclass
class Sleeps:
    """``Pipeline.sleep``: records each delay and moves the test clock on by it, without waiting."""

    clock: FixedClock
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(seconds=seconds)
        await asyncio.sleep(0)
