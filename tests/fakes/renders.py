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

    async def presigned_url(self, key: str, *, expires: int) -> str | None:
        return f"https://storage.invalid/{key}?expires={expires}"


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
    """``TalkingVideoMaker`` that is done at the first collect; remembers what it was asked for."""

    name: str = "local"
    submitted: list[str] = field(default_factory=list)

    async def submit(self, image: Path, speech: Path, *, workdir: Path, reference: str = "") -> str:
        self.submitted.append(f"req-{len(self.submitted) + 1}")
        return self.submitted[-1]

    async def collect(self, request_id: str, *, workdir: Path) -> RenderedVideo | None:
        target = workdir / "video.mp4"
        await asyncio.to_thread(_write, target, b"mp4")
        return RenderedVideo(target, 1.0, 720, 1280, self.name)


@dataclass
class MemoryThrottle:
    """``RedisThrottle`` in a dict, with time standing still (tests move ``now``)."""

    now: float = 0.0
    _until: dict[str, float] = field(default_factory=dict)
    _counts: dict[str, tuple[int, float]] = field(default_factory=dict)

    async def allow(self, key: str, seconds: float) -> bool:
        if self._until.get(key, -1.0) > self.now:
            return False
        self._until[key] = self.now + seconds
        return True

    async def remaining(self, key: str) -> float:
        return max(self._until.get(key, self.now) - self.now, 0.0)

    async def take(self, key: str, *, limit: int, window: int) -> tuple[bool, int]:
        used, ends = self._counts.get(key, (0, self.now + window))
        if ends <= self.now:
            used, ends = 0, self.now + window
        if used >= limit:
            return False, max(int(ends - self.now), 1)
        self._counts[key] = (used + 1, ends)
        return True, max(int(ends - self.now), 1)


@dataclass
class RecordingQueue:
    """``JobQueue`` that only remembers what was enqueued."""

    enqueued: list[int] = field(default_factory=list)

    previews: list[tuple[int, str, int]] = field(default_factory=list)
    broadcasts: list[int] = field(default_factory=list)

    async def enqueue(self, generation_id: int) -> None:
        if generation_id not in self.enqueued:
            self.enqueued.append(generation_id)

    async def enqueue_preview(self, user_id: int, draft_id: str, n: int, draft: dict[str, object]) -> bool:
        if (user_id, draft_id, n) in self.previews:
            return False
        self.previews.append((user_id, draft_id, n))
        return True

    async def enqueue_broadcast(self, broadcast_id: int) -> None:
        if broadcast_id not in self.broadcasts:
            self.broadcasts.append(broadcast_id)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
