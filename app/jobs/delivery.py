"""Telling the user about a generation from outside any update: progress edits, the result window, failures.

The job works on the user's dialog stack through aiogram-dialog's background manager (``fg()``: the user's
lock held, the stack loaded), so a click arriving at the same moment waits instead of racing. When the user
is still on the progress window of this generation, the result replaces it in the same dialog; otherwise the
result window is opened on top of whatever they are doing, and closing it brings them back there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.state import State
from aiogram.types import ContentType
from aiogram_dialog import BgManagerFactory, DialogManager, ShowMode
from aiogram_dialog.api.protocols import MediaIdStorageProtocol

from app.domain.generations import GenerationInfo
from app.jobs.pipeline import Delivered
from app.logs import get_logger
from app.services.providers import ObjectStorage
from dialogs.hooks.create import text_or
from dialogs.hooks.create_order import GENERATION, RENDER_PROVIDER, RESULT_VIDEO
from dialogs.i18n import TextCatalog

log = get_logger(__name__)

# The windows of flows.yaml the job works with (checked when the runtime is built: a rename fails the start).
PROGRESS_WINDOW = ("create", "progress")
RESULT_WINDOW = ("create", "result")
# Telegram limits how often a chat may be edited; a progress message is worth one edit per this many seconds.
PROGRESS_EDIT_INTERVAL = 5.0


@dataclass
class DialogDelivery:
    bot: Bot
    dialogs: BgManagerFactory
    progress_state: State
    result_state: State
    media_ids: MediaIdStorageProtocol
    storage: ObjectStorage
    texts: TextCatalog
    min_edit_interval: float = PROGRESS_EDIT_INTERVAL
    clock: Callable[[], float] = time.monotonic
    _last_edit: dict[int, float] = field(default_factory=dict)

    def _on_progress(self, manager: DialogManager, generation_id: int) -> bool:
        """Whether the user's top window is the progress window of this generation."""
        if not manager.has_context():
            return False
        context = manager.current_context()
        return context.state == self.progress_state and context.dialog_data.get(GENERATION) == generation_id

    async def progress(self, info: GenerationInfo, step: str) -> None:
        """Re-render the progress window (its getter reads the step), at most once per interval."""
        now = self.clock()
        last = self._last_edit.get(info.id)
        if last is not None and now - last < self.min_edit_interval:
            return
        async with self.dialogs.bg(self.bot, info.user_id, info.user_id).fg() as manager:
            if self._on_progress(manager, info.id):
                await manager.show(ShowMode.EDIT)
                self._last_edit[info.id] = now

    async def deliver(self, info: GenerationInfo, video: Path, *, provider: str) -> Delivered:
        """The result window with the video as a new message; returns the file ids Telegram gave."""
        data: dict[str, str | int] = {
            GENERATION: info.id,
            RENDER_PROVIDER: provider,
            RESULT_VIDEO: str(video),
        }
        async with self.dialogs.bg(self.bot, info.user_id, info.user_id).fg() as manager:
            if self._on_progress(manager, info.id):
                manager.current_context().dialog_data.update(data)
                await manager.switch_to(self.result_state)
                await manager.show(ShowMode.SEND)
            else:
                await manager.start(self.result_state, data=data, show_mode=ShowMode.SEND)
        self._last_edit.pop(info.id, None)
        # aiogram-dialog stored what Telegram answered to the uploads: the video just now, the take before.
        video_id = await self.media_ids.get_media_id(str(video), None, ContentType.VIDEO)
        audio_id = None
        take = self.storage.local_path(info.speech_ogg_key) if info.speech_ogg_key else None
        if take is not None:
            audio_id = await self.media_ids.get_media_id(str(take), None, ContentType.VOICE)
        return Delivered(
            video_file_id=video_id.file_id if video_id else None,
            audio_file_id=audio_id.file_id if audio_id else None,
        )

    async def failed(self, info: GenerationInfo) -> None:
        """Tell the user why, in their language, and that the credits came back; refresh the progress."""
        self._last_edit.pop(info.id, None)
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
