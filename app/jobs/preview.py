"""The free draft preview: a quick local render of a draft (still picture + the take, captions if chosen),
sent to the user as a new message. Nothing is charged and nothing is stored; any failure is explained."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiogram.exceptions import TelegramAPIError
from aiogram.types import FSInputFile, InputFile

from app.domain.generations import Draft, DraftDataError
from app.jobs.pipeline import Captioner
from app.logs import get_logger
from app.services.catalog import Catalog
from app.services.media_probe import MediaProblem, probe
from app.services.providers import ObjectStorage, ProviderError, RenderedVideo, WordTiming
from app.services.speech.timings import word_timings
from app.services.storage.copies import LocalCopies
from app.services.video.thumbnail import make_thumbnail
from dialogs.hooks.create import text_or
from dialogs.i18n import TextCatalog

log = get_logger(__name__)

CAPTION = "create.preview.caption"
FAILED = "create.preview.failed"


class PreviewChat(Protocol):
    """The part of aiogram's ``Bot`` a preview needs."""

    async def send_video(
        self,
        chat_id: int | str,
        video: InputFile | str,
        *,
        duration: int | None = None,
        width: int | None = None,
        height: int | None = None,
        thumbnail: InputFile | None = None,
        caption: str | None = None,
        supports_streaming: bool | None = None,
    ) -> Any: ...

    async def send_message(self, chat_id: int | str, text: str) -> Any: ...


class StillRenderer(Protocol):
    """``LocalVideoMaker.make``: a 720×1280 MP4 of a still and the speech, over a background if given."""

    async def make(
        self, image: Path, speech: Path, *, background: Path | None, workdir: Path
    ) -> RenderedVideo: ...


class PreviewFailed(Exception):  # noqa: N818  (reads as the situation)
    """Why a preview cannot be made; ``reason`` is a key under ``errors.`` in the texts."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _Preview:
    path: Path
    thumb: Path | None
    width: int
    height: int
    seconds: float


@dataclass
class DraftPreview:
    """The worker's ``preview`` job: ``await preview(user_id, draft.to_data())``."""

    bot: PreviewChat
    storage: ObjectStorage
    files: LocalCopies
    catalog: Catalog
    texts: TextCatalog
    scratch_dir: Path
    video_maker: StillRenderer
    captioner: Captioner

    async def __call__(self, user_id: int, draft: dict[str, Any]) -> None:
        """Render and send the preview; a failure becomes a message saying why (never an exception)."""
        locale = self._locale(draft)
        work = self.scratch_dir / "previews" / f"{user_id}-{secrets.token_hex(6)}"
        try:
            await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
            preview = await self._render(self._draft(user_id, draft), work)
            await self._send(user_id, preview, locale)
        except (PreviewFailed, ProviderError) as exc:
            log.warning("preview failed", user_id=user_id, reason=exc.reason, detail=exc.detail[:500])
            await self._tell_failure(user_id, locale, exc.reason)
        except TelegramAPIError as exc:
            # The video did not go out (blocked bot, upload refused): saying so may fail the same way.
            log.warning("preview not delivered", user_id=user_id, error=str(exc))
            await self._tell_failure(user_id, locale, "internal")
        except Exception:
            log.exception("preview failed", user_id=user_id)
            await self._tell_failure(user_id, locale, "internal")
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    def _locale(self, draft: Mapping[str, Any]) -> str:
        locale = draft.get("locale")
        known = isinstance(locale, str) and locale in self.texts.locales
        return str(locale) if known else self.texts.default_locale

    @staticmethod
    def _draft(user_id: int, data: Mapping[str, Any]) -> Draft:
        try:
            draft = Draft.from_data(data)
        except DraftDataError as exc:
            raise PreviewFailed("internal", f"unusable draft data: {exc}") from None
        if draft.user_id != user_id:
            raise PreviewFailed("internal", f"draft of user {draft.user_id} asked for by user {user_id}")
        if not draft.ready:
            raise PreviewFailed("internal", f"incomplete draft: lacks {', '.join(draft.missing())}")
        return draft

    async def _render(self, draft: Draft, work: Path) -> _Preview:
        look = await self._look(draft)
        speech = await self._stored(draft.speech_key, "the voice-over")
        background = None
        if draft.format == "background":
            background = await self._stored(draft.background_key, "the background video")
        video = await self.video_maker.make(look, speech, background=background, workdir=work)
        path = video.path
        if draft.captions:
            words = await self._words(draft, work)
            path = await self.captioner.burn(path, words, draft.caption_style, workdir=work)
        try:
            info = await probe(path)
        except MediaProblem as exc:
            raise PreviewFailed("video_failed", f"the preview cannot be read: {exc}") from None
        return _Preview(
            path=path,
            thumb=await make_thumbnail(path, work / "thumb.jpg"),
            width=info.width or video.width,
            height=info.height or video.height,
            seconds=info.duration or video.duration,
        )

    async def _look(self, draft: Draft) -> Path:
        if draft.edited_image_key:
            return await self._stored(draft.edited_image_key, "the edited look")
        character = self.catalog.character(draft.character_id or "")
        if character is None or not await asyncio.to_thread(character.image.is_file):
            raise PreviewFailed("missing_file", f"character {draft.character_id!r} is not in the catalog")
        return character.image

    async def _stored(self, key: str | None, what: str) -> Path:
        try:
            path = await self.files.path(key)
        except OSError as exc:
            raise PreviewFailed("storage_failed", f"{what} ({key}): {exc}") from None
        if path is None:
            raise PreviewFailed("missing_file", f"{what} ({key or 'no key'}) is not in storage")
        return path

    async def _words(self, draft: Draft, work: Path) -> tuple[WordTiming, ...]:
        """The provider's word timings when the take came with them, else an estimate from the script."""
        return await word_timings(
            self.storage,
            draft.speech_words_key,
            script=draft.script or "",
            seconds=draft.speech_seconds or 0.0,
            scratch=work,
        )

    async def _send(self, user_id: int, preview: _Preview, locale: str) -> None:
        await self.bot.send_video(
            user_id,
            FSInputFile(preview.path),
            caption=self.texts.get(locale, CAPTION),
            width=preview.width,
            height=preview.height,
            duration=max(1, round(preview.seconds)),
            thumbnail=FSInputFile(preview.thumb) if preview.thumb is not None else None,
            supports_streaming=True,
        )

    async def _tell_failure(self, user_id: int, locale: str, reason: str) -> None:
        why = text_or(self.texts, locale, f"errors.{reason}", "errors.internal")
        text = self.texts.render(locale, FAILED, {"reason": why})
        try:
            await self.bot.send_message(user_id, text)
        except TelegramAPIError as exc:
            log.warning("could not send the preview failure notice", user_id=user_id, error=str(exc))
