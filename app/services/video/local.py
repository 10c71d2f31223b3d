"""Offline talking video: ffmpeg turns the character still and the speech into a 720×1280 H.264/AAC MP4.

Talking head: the still with a slow zoom (re-scaled every frame, so the motion is smooth) for the whole
speech. Background format: the user's video fills the 9:16 frame, looped or cut to the speech, with the
character on top — keyed out full-frame when the picture has a chroma-green backdrop, otherwise as a framed
picture-in-picture in the lower part. Pillow prepares the stills once, so ffmpeg's per-frame work stays small.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from app.services.media_probe import (
    MediaProblem,
    MediaToolError,
    file_url,
    probe,
    probe_duration,
    run_media_tool,
)
from app.services.providers import ProviderError, RenderedVideo

WIDTH, HEIGHT = 720, 1280
FPS = 25
ZOOM = 0.06  # the talking head grows by 6 % over the clip: motion without distracting from the face
FACE_LINE = 0.35  # where the crop keeps the picture while zooming: faces sit in the upper part of a portrait
PIP_WIDTH = 360  # half the frame: the background stays visible around the portrait
PIP_BOTTOM_MARGIN = 120
PIP_BORDER = 8
PIP_RADIUS = 36
PIP_SHADOW = 18
# A still read as one picture: without "-pattern_type none" a "%d" in its directory reads as a frame counter.
STILL = ("-f", "image2", "-pattern_type", "none", "-i")
LOCAL_REQUEST = re.compile(r"^local:([0-9a-f]{16,64})$")
CHROMA_SHARE = 0.7  # this much of the top and sides must be chroma green to key the picture out
CHROMA_SIMILARITY = 0.13
CHROMA_BLEND = 0.07


@dataclass(frozen=True, slots=True)
class Overlay:
    """The character prepared for the background format: a still with alpha, where it goes, how to key it."""

    path: Path
    x: int
    y: int
    key_colour: str | None  # "0xRRGGBB" when the still has a chroma-green backdrop to key out


class LocalVideoMaker:
    """``TalkingVideoMaker`` on ffmpeg (libx264 veryfast): a 5 s clip renders in seconds on two cores.

    As a provider it keeps its requests in ``spool``: :meth:`submit` files the inputs under a new request id,
    :meth:`collect` renders them once and keeps the result, so a worker restarted mid-render collects the
    same request again (the spool is on this machine: workers sharing it must share the directory).
    """

    name = "local"

    def __init__(
        self,
        *,
        spool: Path | None = None,
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
        time_limit: float = 300.0,
    ) -> None:
        self._spool = spool
        self._ffmpeg = ffmpeg
        self._ffprobe = ffprobe
        self._time_limit = time_limit

    async def submit(self, image: Path, speech: Path, *, workdir: Path, reference: str = "") -> str:
        """File the inputs under a new request id (nothing renders yet)."""
        token = secrets.token_hex(12)
        folder = self._request_dir(token)
        await asyncio.to_thread(_file_inputs, image, speech, folder)
        return f"local:{token}"

    async def collect(self, request_id: str, *, workdir: Path) -> RenderedVideo:
        """Render the request (once: a finished one is kept) and copy the video into ``workdir``."""
        match = LOCAL_REQUEST.match(request_id)
        if match is None:
            raise ProviderError("video_failed", f"not a local request id: {request_id!r}")
        folder = self._request_dir(match.group(1))
        done = folder / "video.mp4"
        if not done.is_file():
            image, speech = folder / "image", folder / "speech.wav"
            if not (image.is_file() and speech.is_file()):
                raise ProviderError(
                    "video_failed", f"local request {request_id} has no inputs (spool cleaned?)"
                )
            video = await self.make(image, speech, background=None, workdir=folder)
            video.path.replace(done)
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        output = workdir / f"talking-{secrets.token_hex(4)}.mp4"
        await asyncio.to_thread(shutil.copyfile, done, output)
        try:
            info = await probe(output, ffprobe=self._ffprobe)
        except (MediaToolError, MediaProblem) as exc:
            raise ProviderError("video_failed", str(exc)) from exc
        return RenderedVideo(
            path=output,
            duration=info.duration or 0.0,
            width=info.width or WIDTH,
            height=info.height or HEIGHT,
            provider=self.name,
        )

    def _request_dir(self, token: str) -> Path:
        if self._spool is None:
            raise RuntimeError("LocalVideoMaker needs a spool directory to take requests")
        return self._spool / token

    async def make(
        self, image: Path, speech: Path, *, background: Path | None, workdir: Path
    ) -> RenderedVideo:
        """The MP4 as long as ``speech``; ProviderError("video_failed") if anything cannot be read or made."""
        stem = f"video-{secrets.token_hex(4)}"
        output = workdir / f"{stem}.mp4"
        try:
            duration = await probe_duration(speech, ffprobe=self._ffprobe)
            still = await asyncio.to_thread(_normalized_still, image, workdir / f"{stem}-still.jpg")
            if background is None:
                args = self._talking_head_args(still, speech, duration, output)
            else:
                overlay = await asyncio.to_thread(_overlay_for, still, workdir / f"{stem}-overlay.png")
                args = self._background_args(background, overlay, speech, duration, output)
            await run_media_tool(args, time_limit=self._time_limit)
            info = await probe(output, ffprobe=self._ffprobe)
        except (MediaToolError, MediaProblem, OSError, ValueError, Image.DecompressionBombError) as exc:
            output.unlink(missing_ok=True)
            raise ProviderError("video_failed", str(exc)) from exc
        finally:
            for leftover in (f"{stem}-still.jpg", f"{stem}-overlay.png"):
                (workdir / leftover).unlink(missing_ok=True)
        return RenderedVideo(
            path=output,
            duration=info.duration or duration,
            width=info.width or WIDTH,
            height=info.height or HEIGHT,
            provider=self.name,
        )

    def _talking_head_args(self, still: Path, speech: Path, duration: float, output: Path) -> list[str]:
        # Even widths from 720 up to 720·(1+ZOOM), re-evaluated per frame; the crop keeps the face line still.
        zoom = (
            f"scale=w='2*trunc({WIDTH // 2}*(1+{ZOOM}*t/{duration:.3f}))':h=-2:eval=frame:flags=bicubic,"
            f"crop={WIDTH}:{HEIGHT}:'(iw-{WIDTH})/2':'(ih-{HEIGHT})*{FACE_LINE}'"
        )
        graph = f"[0:v]{zoom},setsar=1,format=yuv420p[v]"
        inputs = ["-loop", "1", "-framerate", str(FPS), *STILL, file_url(still), "-i", file_url(speech)]
        return self._command(inputs, graph, duration, output)

    def _background_args(
        self, background: Path, overlay: Overlay, speech: Path, duration: float, output: Path
    ) -> list[str]:
        fill = (
            f"scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=increase,crop={WIDTH}:{HEIGHT},"
            f"setsar=1,fps={FPS}"
        )
        if overlay.key_colour:
            person = f"format=yuva420p,chromakey={overlay.key_colour}:{CHROMA_SIMILARITY}:{CHROMA_BLEND}"
            person += ",despill=type=green"
        else:
            person = "format=rgba"
        graph = (
            f"[0:v]{fill}[bg];[1:v]{person}[fg];"
            f"[bg][fg]overlay={overlay.x}:{overlay.y}:eof_action=repeat,format=yuv420p[v]"
        )
        # The background loops for ever (-stream_loop -1) and -t cuts it at the speech's end: one path for
        # a 3 s clip under 5 s of speech and for a 15 s clip under 4 s. The overlay is one frame, repeated.
        inputs = ["-stream_loop", "-1", "-i", file_url(background), *STILL, file_url(overlay.path)]
        inputs += ["-i", file_url(speech)]
        return self._command(inputs, graph, duration, output)

    def _command(self, inputs: list[str], graph: str, duration: float, output: Path) -> list[str]:
        audio_index = sum(1 for arg in inputs if arg == "-i") - 1
        return [
            self._ffmpeg, "-nostdin", "-y", "-v", "error", *inputs,
            "-filter_complex", graph, "-map", "[v]", "-map", f"{audio_index}:a:0",
            "-t", f"{duration:.3f}", "-r", str(FPS),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-ar", "44100", "-ac", "1",
            # A user's phone video may carry its GPS position: nothing of its metadata goes out.
            "-map_metadata", "-1", "-map_chapters", "-1",
            "-movflags", "+faststart", file_url(output),
        ]  # fmt: skip


def _file_inputs(image: Path, speech: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image, folder / "image")
    shutil.copyfile(speech, folder / "speech.wav")


def _normalized_still(image: Path, target: Path) -> Path:
    """The character picture as an upright 720×1280 RGB JPEG, cropped about the face line if need be."""
    with Image.open(image) as opened:
        picture = ImageOps.exif_transpose(opened).convert("RGB")
    picture = ImageOps.fit(picture, (WIDTH, HEIGHT), Image.Resampling.LANCZOS, centering=(0.5, FACE_LINE))
    target.parent.mkdir(parents=True, exist_ok=True)
    picture.save(target, format="JPEG", quality=95)
    return target


def _overlay_for(still: Path, target: Path) -> Overlay:
    with Image.open(still) as opened:
        picture = opened.convert("RGB")
    key = chroma_key_colour(picture)
    if key is not None:
        return Overlay(path=still, x=0, y=0, key_colour="0x{:02X}{:02X}{:02X}".format(*key))
    framed = framed_portrait(picture)
    framed.save(target, format="PNG")
    return Overlay(
        path=target,
        x=(WIDTH - framed.width) // 2,
        y=HEIGHT - framed.height - PIP_BOTTOM_MARGIN + PIP_SHADOW,
        key_colour=None,
    )


def chroma_key_colour(picture: Image.Image) -> tuple[int, int, int] | None:
    """The backdrop's green when the top edge and the upper sides are chroma green, else None."""
    width, height = picture.size
    samples = [picture.getpixel((x, 2)) for x in range(0, width, 8)]
    samples += [picture.getpixel((x, y)) for y in range(0, height * 3 // 5, 8) for x in (2, width - 3)]
    greens = [p for p in samples if isinstance(p, tuple) and _is_chroma_green(p)]
    if len(greens) < CHROMA_SHARE * len(samples):
        return None
    channels = list(zip(*greens, strict=True))
    median = tuple(sorted(channel)[len(channel) // 2] for channel in channels)
    return (int(median[0]), int(median[1]), int(median[2]))


def framed_portrait(picture: Image.Image) -> Image.Image:
    """The portrait at :data:`PIP_WIDTH` with rounded corners, a white border and a soft shadow (RGBA)."""
    inner_w = PIP_WIDTH - 2 * PIP_BORDER
    inner_h = round(inner_w * picture.height / picture.width)
    inner = picture.resize((inner_w, inner_h), Image.Resampling.LANCZOS)
    card_w, card_h = PIP_WIDTH, inner_h + 2 * PIP_BORDER
    canvas = Image.new("RGBA", (card_w + 2 * PIP_SHADOW, card_h + 2 * PIP_SHADOW), (0, 0, 0, 0))
    card_box = (PIP_SHADOW, PIP_SHADOW, PIP_SHADOW + card_w - 1, PIP_SHADOW + card_h - 1)
    shadow = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(shadow).rounded_rectangle(card_box, PIP_RADIUS, fill=110)
    shadow = shadow.filter(ImageFilter.GaussianBlur(PIP_SHADOW / 2))
    canvas.putalpha(shadow)
    card_mask = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(card_mask).rounded_rectangle(card_box, PIP_RADIUS, fill=255)
    canvas.paste(Image.new("RGBA", canvas.size, (255, 255, 255, 255)), (0, 0), card_mask)
    photo_mask = Image.new("L", inner.size, 0)
    ImageDraw.Draw(photo_mask).rounded_rectangle(
        (0, 0, inner_w - 1, inner_h - 1), PIP_RADIUS - PIP_BORDER, fill=255
    )
    canvas.paste(inner, (PIP_SHADOW + PIP_BORDER, PIP_SHADOW + PIP_BORDER), photo_mask)
    alpha = ImageChops.lighter(canvas.getchannel("A"), card_mask)
    canvas.putalpha(alpha)
    return canvas


def _is_chroma_green(pixel: tuple[int, ...]) -> bool:
    red, green, blue = pixel[:3]
    return green >= 90 and green >= red + 50 and green >= blue + 40
