"""Stand-ins for what a render uses — storage, speech, look edit, video, queue — kept small and quick."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from app.services.providers import EditedImage, RenderedVideo, SpeechTake, StoredObject, VoiceParams


@dataclass
class MemoryStorage:
    """``ObjectStorage`` in a dict; nothing is on this machine's disk, so ``local_path`` is None."""

    objects: dict[str, bytes] = field(default_factory=dict)

    async def put_file(self, key: str, path: Path, *, content_type: str) -> StoredObject:
        self.objects[key] = await asyncio.to_thread(path.read_bytes)
        return StoredObject(key=key, size=len(self.objects[key]), content_type=content_type)

    async def get_file(self, key: str, dest: Path) -> Path:
        if key not in self.objects:
            raise FileNotFoundError(key)
        await asyncio.to_thread(dest.write_bytes, self.objects[key])
        return dest

    def local_path(self, key: str) -> Path | None:
        return None

    async def exists(self, key: str) -> bool:
        return key in self.objects

    async def delete(self, key: str) -> None:
        self.objects.pop(key, None)


@dataclass
class ScriptedSpeech:
    """Speech lasting ``seconds_per_char`` a character; writes two small files named after the text."""

    name: str = "local"
    seconds_per_char: float = 0.07

    async def synthesize(self, text: str, voice: VoiceParams, *, workdir: Path) -> SpeechTake:
        wav, ogg = workdir / "take.wav", workdir / "take.ogg"
        await asyncio.to_thread(_write, wav, text.encode())
        await asyncio.to_thread(_write, ogg, text.encode())
        return SpeechTake(wav, ogg, len(text) * self.seconds_per_char, (), self.name)


@dataclass
class CopyEditor:
    name: str = "local"

    async def edit(self, image: Path, prompt: str, *, workdir: Path) -> EditedImage:
        target = workdir / "edited.jpg"
        await asyncio.to_thread(_write, target, await asyncio.to_thread(image.read_bytes))
        return EditedImage(target, f"did: {prompt}", self.name)


@dataclass
class StillVideo:
    name: str = "local"

    async def make(
        self, image: Path, speech: Path, *, background: Path | None, workdir: Path
    ) -> RenderedVideo:
        target = workdir / "video.mp4"
        target.write_bytes(b"mp4")
        return RenderedVideo(target, 1.0, 720, 1280, self.name)


@dataclass
class RecordingQueue:
    """``JobQueue`` that only remembers what was enqueued."""

    enqueued: list[int] = field(default_factory=list)

    async def enqueue(self, generation_id: int) -> None:
        if generation_id not in self.enqueued:
            self.enqueued.append(generation_id)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
