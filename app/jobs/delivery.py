"""Telling the user about a generation from outside any update: progress edits, the result window, failures.

The job works on the user's dialog stack through aiogram-dialog's background manager (``fg()``: the user's
lock held, the stack loaded), so a click arriving at the same moment waits instead of racing. When the user
is still on the progress window of this generation, the result replaces it in the same dialog; otherwise the
result window is opened on top of whatever they are doing, and closing it brings them back there.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.state import State
from aiogram.types import ContentType
from aiogram_dialog import BgManagerFactory, DialogManager, ShowMode
from aiogram_dialog.api.protocols import MediaIdStorageProtocol

from app.domain.generations import GenerationInfo
from app.domain.steps import Phase
from app.jobs.pipeline import Delivered, FinalVideo
from app.logs import get_logger
from app.services.storage.copies import LocalCopies
from app.services.throttle import RedisThrottle
from dialogs.hooks.create import text_or
from dialogs.hooks.create_order import GENERATION, RENDER_PROVIDER, RESULT_LINK, RESULT_THUMB, RESULT_VIDEO
from dialogs.i18n import TextCatalog

log = get_logger(__name__)

# The windows of flows.yaml the job works with (checked when the runtime is built: a rename fails the start).
PROGRESS_WINDOW = ("create", "progress")
RESULT_WINDOW = ("create", "result")
# Telegram limits how often a chat may be edited; a progress message is worth one edit per this many seconds
# (per chat, across every worker: the throttle lives in Redis).
PROGRESS_EDIT_INTERVAL = 5.0
# A chat action shows for about 5 s; renewed a little sooner while a long step runs.
CHAT_ACTION_INTERVAL = 4.5


@dataclass
class DialogDelivery:
    bot: Bot
    dialogs: BgManagerFactory
    progress_state: State
    result_state: State
    media_ids: MediaIdStorageProtocol
    files: LocalCopies
    texts: TextCatalog
    throttle: RedisThrottle
    min_edit_interval: float = PROGRESS_EDIT_INTERVAL
    _pending: dict[int, asyncio.Task[None]] = field(default_factory=dict, repr=False)

    def _on_progress(self, manager: DialogManager, generation_id: int) -> bool:
        """Whether the user's top window is the progress window of this generation."""
        if not manager.has_context():
            return False
        context = manager.current_context()
        return context.state == self.progress_state and context.dialog_data.get(GENERATION) == generation_id

    async def progress(self, info: GenerationInfo, phase: Phase) -> None:
        """Re-render the progress window (its getter reads the step and the time), at most once per interval
        per chat; nothing when the user has moved on to other windows.

        A change that comes too soon is not dropped: one redraw per video is scheduled for when the interval
        is over, and it shows whatever the state is by then.
        """
        key = f"progress:{info.user_id}"
        if await self.throttle.allow(key, self.min_edit_interval):
            await self._redraw(info)
            return
        if info.id in self._pending:
            return
        wait = await self.throttle.remaining(key)
        self._pending[info.id] = asyncio.create_task(
            self._redraw_later(info, wait), name=f"progress-{info.id}"
        )

    async def _redraw_later(self, info: GenerationInfo, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
            if await self.throttle.allow(f"progress:{info.user_id}", self.min_edit_interval):
                await self._redraw(info)
        except Exception as exc:  # a progress edit is a courtesy: it must never fail a video
            log.warning("progress redraw failed", generation_id=info.id, error=str(exc))
        finally:
            self._pending.pop(info.id, None)

    async def _redraw(self, info: GenerationInfo) -> None:
        async with self.dialogs.bg(self.bot, info.user_id, info.user_id).fg() as manager:
            if self._on_progress(manager, info.id):
                await manager.show(ShowMode.EDIT)

    def _forget(self, generation_id: int) -> None:
        pending = self._pending.pop(generation_id, None)
        if pending is not None:
            pending.cancel()

    async def working(self, info: GenerationInfo) -> None:
        if not await self.throttle.allow(f"action:{info.user_id}", CHAT_ACTION_INTERVAL):
            return
        with contextlib.suppress(TelegramAPIError):
            await self.bot.send_chat_action(info.user_id, ChatAction.RECORD_VIDEO)

    async def deliver(self, info: GenerationInfo, video: FinalVideo) -> Delivered:
        """The result window with the video as a new message; returns the file ids Telegram gave."""
        self._forget(info.id)
        data: dict[str, str | int] = {GENERATION: info.id, RENDER_PROVIDER: video.provider}
        if video.link is not None:
            data[RESULT_LINK] = video.link
        else:
            data[RESULT_VIDEO] = str(video.path)
            if video.thumb is not None:
                data[RESULT_THUMB] = str(video.thumb)
        async with self.dialogs.bg(self.bot, info.user_id, info.user_id).fg() as manager:
            if self._on_progress(manager, info.id):
                manager.current_context().dialog_data.update(data)
                await manager.switch_to(self.result_state)
                await manager.show(ShowMode.SEND)
            else:
                await manager.start(self.result_state, data=data, show_mode=ShowMode.SEND)
        # aiogram-dialog stored what Telegram answered to the uploads: the video just now, the take before.
        video_id = None
        if video.link is None:
            video_id = await self.media_ids.get_media_id(str(video.path), None, ContentType.VIDEO)
        audio_id = None
        take = await self.files.path(info.speech_ogg_key)
        if take is not None:
            audio_id = await self.media_ids.get_media_id(str(take), None, ContentType.VOICE)
        return Delivered(
            video_file_id=video_id.file_id if video_id else None,
            audio_file_id=audio_id.file_id if audio_id else None,
        )

    async def failed(self, info: GenerationInfo) -> None:
        """Tell the user why, in their language, and that the credits came back; refresh the progress."""
        self._forget(info.id)
        locale = info.locale if info.locale in self.texts.locales else self.texts.default_locale
        reason = text_or(self.texts, locale, f"errors.{info.error_reason}", "errors.internal")
        text = self.texts.render(
            locale, "create.failed", {"generation_id": info.id, "reason": reason, "cost": info.cost}
        )
        try:
            await self.bot.send_message(info.user_id, text)
        except TelegramAPIError as exc:
            log.warning("could not send the failure notice", generation_id=info.id, error=str(exc))
        async with self.dialogs.bg(self.bot, info.user_id, info.user_id).fg() as manager:
            if self._on_progress(manager, info.id):
                await manager.show(ShowMode.SEND)
