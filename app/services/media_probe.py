"""What a media file really is, asked of ffprobe; and the checks an uploaded background video must pass.

Also home of :func:`run_media_tool`, the one way the local providers start ffmpeg, ffprobe and espeak-ng:
argument lists only (never a shell), a time limit, and the process killed when the caller is cancelled.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

MediaProblemReason = Literal[
    "not_media", "corrupt", "no_video_stream", "too_long", "too_big", "wrong_container"
]

MP4_FORMAT = "mov,mp4,m4a,3gp,3g2,mj2"
WEBM_FORMAT = "matroska,webm"
WEBM_VIDEO_CODECS = frozenset({"vp8", "vp9", "av1"})
BACKGROUND_MAX_SECONDS = 15.0
BACKGROUND_MAX_BYTES = 20 * 1024 * 1024
TEXT_FORMATS = frozenset({"tty"})  # ffprobe "plays" a long .txt file as ANSI art
# Phones stop a "15 s" recording a few frames late; a user should not be told 15.2 s is too long.
DURATION_SLACK = 0.5
PROBE_TIME_LIMIT = 20.0

# Leading bytes of containers ffprobe can open: when ffprobe still fails, the file is a broken video, not a
# document with a video's name.
_ISO_BOX_TYPES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")
_MAGIC_PREFIXES = (b"\x1a\x45\xdf\xa3", b"RIFF", b"FLV", b"OggS", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")
_TS_SYNC = 0x47
_TS_PACKET = 188


class MediaToolError(Exception):
    """ffmpeg, ffprobe or espeak-ng failed, ran out of time or is missing; the message has its stderr."""

    def __init__(self, tool: str, detail: str) -> None:
        super().__init__(f"{tool}: {detail}")
        self.tool = tool
        self.detail = detail


class MediaProblem(ValueError):  # noqa: N818  (the name the flow and the brief use)
    """A file the bot cannot use as a video; ``reason`` tells the flow which message to show."""

    def __init__(self, reason: MediaProblemReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: MediaProblemReason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class MediaInfo:
    format_names: tuple[str, ...]  # ffprobe's demuxer names, e.g. ("mov", "mp4", "m4a", "3gp", "3g2", "mj2")
    duration: float | None  # seconds; None when neither the container nor the streams say
    size: int  # bytes on disk
    video_codec: str | None
    width: int | None
    height: int | None
    rotation: int  # degrees the player turns the picture (phone videos), 0 when none
    video_frames: int | None  # frame count the container's index promises (MP4 has one, WebM does not)
    audio_codec: str | None
    sample_rate: int | None

    @property
    def format_name(self) -> str:
        return ",".join(self.format_names)

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None


async def run_media_tool(
    args: Sequence[str], *, time_limit: float, stdin: bytes | None = None, cwd: Path | None = None
) -> bytes:
    """Stdout of ``args`` run without a shell; :class:`MediaToolError` on failure, time-out, missing tool."""
    tool = Path(args[0]).name
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
        )
    except OSError as exc:
        raise MediaToolError(tool, f"cannot start: {exc.strerror or exc}") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), time_limit)
    except TimeoutError:
        raise MediaToolError(tool, f"still running after {time_limit:g} s") from None
    finally:
        if proc.returncode is None:  # timed out or the caller was cancelled: leave no stray ffmpeg behind
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        tail = err.decode("utf-8", errors="replace").strip()[-1500:]
        raise MediaToolError(tool, f"exit code {proc.returncode}: {tail}")
    return out


def file_url(path: Path) -> str:
    """``path`` as ffmpeg must get it: a ``file:`` URL, so ``a:b.mp4`` is never read as a protocol."""
    return f"file:{path.resolve()}"


async def probe(path: Path, *, ffprobe: str = "ffprobe", time_limit: float = PROBE_TIME_LIMIT) -> MediaInfo:
    """Container, duration, first video and audio stream of ``path``; :class:`MediaProblem` if unreadable."""
    try:
        size = path.stat().st_size  # noqa: ASYNC240  (one stat of a local file)
    except OSError as exc:
        raise MediaProblem("not_media", f"cannot read {path.name}: {exc.strerror or exc}") from None
    if size == 0:
        raise MediaProblem("not_media", "empty file")
    args = [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", file_url(path)]
    try:
        data = json.loads(await run_media_tool(args, time_limit=time_limit))
    except MediaToolError as exc:
        raise MediaProblem("corrupt" if _looks_like_media(path) else "not_media", exc.detail) from None
    except ValueError as exc:
        raise MediaProblem("corrupt", f"unreadable ffprobe output: {exc}") from None
    return media_info_from_ffprobe(data, size)


async def probe_duration(
    path: Path, *, ffprobe: str = "ffprobe", time_limit: float = PROBE_TIME_LIMIT
) -> float:
    """Duration in seconds of an audio or video file; :class:`MediaProblem` when it is unknown."""
    info = await probe(path, ffprobe=ffprobe, time_limit=time_limit)
    if info.duration is None:
        raise MediaProblem("corrupt", "no duration")
    return info.duration


async def check_background_video(
    path: Path,
    *,
    max_seconds: float = BACKGROUND_MAX_SECONDS,
    max_bytes: int = BACKGROUND_MAX_BYTES,
    ffprobe: str = "ffprobe",
    ffmpeg: str = "ffmpeg",
    time_limit: float = PROBE_TIME_LIMIT,
) -> MediaInfo:
    """The probed user video if it can be a background (mp4/mov/webm, short, small, decodable).

    Raises :class:`MediaProblem` with the first reason it cannot.
    """
    try:
        size = path.stat().st_size  # noqa: ASYNC240  (one stat of a local file)
    except OSError as exc:
        raise MediaProblem("not_media", f"cannot read {path.name}: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise MediaProblem("too_big", f"{size} bytes > {max_bytes}")
    info = await probe(path, ffprobe=ffprobe, time_limit=time_limit)
    container_problem = _container_problem(info)
    if container_problem:
        raise MediaProblem("wrong_container", container_problem)
    if not info.has_video:
        raise MediaProblem("no_video_stream", f"{info.format_name} without a video stream")
    if info.format_name == WEBM_FORMAT and info.video_codec not in WEBM_VIDEO_CODECS:
        raise MediaProblem("wrong_container", f"matroska with {info.video_codec} video")
    if info.duration is not None and info.duration > max_seconds + DURATION_SLACK:
        raise MediaProblem("too_long", f"{info.duration:.2f} s > {max_seconds:g} s")
    packets = await _video_packets(path, ffprobe=ffprobe, time_limit=time_limit)
    _check_complete(info, packets, size)
    packets_duration = packets.end_time
    if info.duration is None:  # browser recordings (MediaRecorder webm) carry no duration in the header
        if packets_duration is None:
            raise MediaProblem("corrupt", "no duration")
        info = replace(info, duration=packets_duration)
        if packets_duration > max_seconds + DURATION_SLACK:
            raise MediaProblem("too_long", f"{packets_duration:.2f} s > {max_seconds:g} s")
    decode = [
        ffmpeg, "-nostdin", "-v", "error", "-xerror", "-i", file_url(path),
        "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-",
    ]  # fmt: skip
    try:
        await run_media_tool(decode, time_limit=time_limit)
    except MediaToolError as exc:
        raise MediaProblem("corrupt", f"first frame does not decode: {exc.detail}") from None
    return info


def media_info_from_ffprobe(data: Mapping[str, Any], size: int) -> MediaInfo:
    """:class:`MediaInfo` from the JSON of ``ffprobe -show_format -show_streams``."""
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    if not fmt.get("format_name") or fmt["format_name"] in TEXT_FORMATS:
        raise MediaProblem("not_media", f"ffprobe found no media container ({fmt.get('format_name')})")
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    durations = [_float(fmt.get("duration"))] + [_float(s.get("duration")) for s in (video, audio) if s]
    known = [d for d in durations if d is not None]
    return MediaInfo(
        format_names=tuple(str(fmt["format_name"]).split(",")),
        duration=known[0] if known else None,
        size=size,
        video_codec=video.get("codec_name") if video else None,
        width=_int(video.get("width")) if video else None,
        height=_int(video.get("height")) if video else None,
        rotation=_rotation(video) if video else 0,
        video_frames=_int(video.get("nb_frames")) if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        sample_rate=_int(audio.get("sample_rate")) if audio else None,
    )


def _container_problem(info: MediaInfo) -> str:
    if info.format_name in {MP4_FORMAT, WEBM_FORMAT}:
        return ""
    return f"{info.format_name} is not mp4, mov or webm"


@dataclass(frozen=True, slots=True)
class _Packets:
    count: int
    end_byte: int  # where the last packet's data ends in the file
    end_time: float | None  # when the last packet ends, seconds


def _check_complete(info: MediaInfo, packets: _Packets, size: int) -> None:
    """A cut-off upload (the user's connection dropped) still probes; its packets give it away."""
    if packets.end_byte > size:
        raise MediaProblem("corrupt", f"video data runs to byte {packets.end_byte}, the file has {size}")
    if info.video_frames and packets.count < info.video_frames:
        raise MediaProblem("corrupt", f"{packets.count} of {info.video_frames} frames present")
    if info.duration and packets.end_time is not None and packets.end_time < info.duration - DURATION_SLACK:
        raise MediaProblem("corrupt", f"frames stop at {packets.end_time:.2f} s of {info.duration:.2f} s")


async def _video_packets(path: Path, *, ffprobe: str, time_limit: float) -> _Packets:
    """Count, end byte and end time of the first video stream's packets as ffprobe can read them."""
    args = [
        ffprobe, "-v", "error", "-select_streams", "v:0",
        "-show_entries", "packet=pts_time,duration_time,pos,size", "-print_format", "json", file_url(path),
    ]  # fmt: skip
    try:
        packets = json.loads(await run_media_tool(args, time_limit=time_limit)).get("packets") or []
    except (MediaToolError, ValueError) as exc:
        raise MediaProblem("corrupt", f"packets unreadable: {exc}") from None
    if not packets:
        raise MediaProblem("corrupt", "no video frames")
    end = 0
    last: float | None = None
    for packet in packets:
        pos, length = _int(packet.get("pos")), _int(packet.get("size"))
        if pos is not None and length is not None:
            end = max(end, pos + length)
        pts = _float(packet.get("pts_time"))
        if pts is not None:
            last = max(last or 0.0, pts + (_float(packet.get("duration_time")) or 0.0))
    return _Packets(count=len(packets), end_byte=end, end_time=last)


def _looks_like_media(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(_TS_PACKET * 2 + 1)
    except OSError:
        return False
    if head[4:8] in _ISO_BOX_TYPES or head.startswith(_MAGIC_PREFIXES):
        return True
    return len(head) > _TS_PACKET * 2 and all(head[i] == _TS_SYNC for i in (0, _TS_PACKET, _TS_PACKET * 2))


def _rotation(stream: Mapping[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        value = _float(side.get("rotation"))
        if value is not None:
            return int(value) % 360
    value = _float((stream.get("tags") or {}).get("rotate"))
    return int(value) % 360 if value is not None else 0


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None
