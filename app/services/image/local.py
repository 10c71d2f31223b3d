"""Offline look edit with Pillow: only what a few pixel operations honestly do, and a note of what was not.

The prompt (Russian or English) is read for keywords: warmer/colder tone, brighter/darker, more/less contrast,
more/less saturation, black-and-white, and a plain background colour (including a chroma-green screen for the
"character over background" format). The background is found approximately: the region connected to the
image border whose colour is close to the top corners' colour — right for studio-style portraits on a plain
or softly graded backdrop, wrong for busy scenes. Everything else the prompt asks for is listed as not done.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Literal

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from app.services.providers import EditedImage, EditRefused, ProviderError

CHROMA_GREEN = (0, 177, 64)  # #00B140, the broadcast chroma green the background format keys out
RGB = tuple[int, int, int]
Direction = Literal["up", "down"]
CAPABILITIES = "colour tone, brightness, contrast, saturation, black-and-white and a plain background colour"
EDITOR_VERSION = "1"  # part of the output name: a changed algorithm never reuses an old result
JPEG_QUALITY = 92
# The backdrop mask grows on a quarter-size copy: pure Python stays fast, the upscaled mask has soft edges.
MASK_SCALE = 4
# Max colour distance (sum over channels) from the reference a backdrop pixel inherits from its neighbour.
_TOLERANCE = 48
_MIN_BACKGROUND_SHARE = 0.03

_COLOURS: tuple[tuple[str, str, RGB], ...] = (
    # (English label, regex, RGB); multi-word names first so "light blue" wins over "blue".
    ("light blue", r"light[\s-]*blue|sky[\s-]*blue|голуб\w*", (135, 190, 235)),
    ("dark blue", r"dark[\s-]*blue|navy|темно[\s-]*син\w*", (20, 40, 110)),
    ("white", r"white|бел\w*", (245, 245, 245)),
    ("black", r"black|черн\w*", (15, 15, 15)),
    ("red", r"red|красн\w*", (200, 30, 40)),
    ("green", r"green|зелен\w*", CHROMA_GREEN),
    ("blue", r"blue|син\w*", (30, 80, 200)),
    ("yellow", r"yellow|желт\w*", (245, 210, 50)),
    ("orange", r"orange|оранжев\w*", (245, 140, 30)),
    ("pink", r"pink|розов\w*", (240, 160, 190)),
    ("purple", r"purple|violet|фиолетов\w*|сиренев\w*", (120, 60, 170)),
    ("grey", r"gr[ae]y|сер(?:ый|ого|ому|ым|ом|ая|ой|ую|ое|ые|ых|ыми)", (128, 128, 128)),
    ("beige", r"beige|бежев\w*", (225, 205, 170)),
    ("brown", r"brown|коричнев\w*", (110, 70, 40)),
)
_COLOUR = "|".join(f"(?:{pattern})" for _, pattern, _ in _COLOURS)
_HEX = r"#[0-9a-f]{6}\b"
_BACKGROUND = r"background\w*|backdrop\w*|\bbg\b|фон\w*|задн\w*\s+план\w*"
_GAP = r"(?:\W+\w+){0,4}?\W+"  # up to four words between the colour and the word "background"
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        (
            "chroma",
            rf"(?:(?:{_BACKGROUND})\W+)?"
            r"(?:green[\s-]*screen|chroma[\s-]*key\w*|chroma|хромаке\w*|грин[\s-]*скрин\w*|зелен\w*\s+экран\w*)"
            rf"(?:\W+(?:{_BACKGROUND}))?",
        ),
        (
            "grayscale",
            r"black[\s-]*(?:and|&)[\s-]*white|\bb\s*[&/]\s*w\b|gr[ae]y[\s-]*scale|monochrom\w*|desaturat\w*"
            r"|черно[\s-]*бел\w*|\bч\s*/?\s*б\b|монохром\w*|обесцвет\w*|оттенк\w*\s+серого|без\s+цвета",
        ),
        (
            "background",
            rf"(?:{_COLOUR}|{_HEX}){_GAP}(?:{_BACKGROUND})|(?:{_BACKGROUND}){_GAP}(?:{_COLOUR}|{_HEX})",
        ),
        (
            "less_contrast",
            r"(?:less|lower|reduce\w*|softer|меньше|понизь\w*|сниз\w*|уменьш\w*)\s+(?:the\s+)?"
            r"(?:contrast\w*|контраст\w*)|low[\s-]*contrast",
        ),
        ("more_contrast", r"contrast\w*|контраст\w*|punch\w*"),
        (
            "less_saturation",
            r"(?:less|lower|reduce\w*|меньше|уменьш\w*)\s+(?:the\s+)?(?:saturat\w*|насыщенн\w*)"
            r"|muted|faded|washed[\s-]*out|приглуш\w*|блекл\w*|бледн\w*",
        ),
        ("more_saturation", r"saturat\w*|vivid\w*|vibrant\w*|colou?rful|насыщенн\w*|сочн\w*|красочн\w*"),
        ("warmer", r"warm\w*|golden|sunn\w*|sunset|тепл\w*|золот\w*|солнечн\w*"),
        ("colder", r"cold\w*|cool\w*|icy|холодн\w*|прохладн\w*"),
        ("brighter", r"bright\w*|lighter|lighten\w*|светл\w*|светле\w*|осветл\w*|ярче|ярк\w*"),
        ("darker", r"dark\w*|dimm?\w*|темн\w*|темне\w*|затемн\w*|мрачн\w*"),
    )
)  # fmt: skip
# Words that carry no request of their own ("make it a bit ..."), so they never show up as "not done".
_FILLER_TEXT = """
    a an the it its this that replace swap switch make made do set turn change give add put use to into
    in on of for with and or but her his him she he me my please bit little slightly slight lot very
    much more less some just so too also photo picture image pic portrait look tone tones colour color
    colours colors hue shade shades overall whole entire then now again plus
    сделай сделайте сделать сделал сделала пусть будет будут бы и или а но на в во с со к по за из под
    для ее его ей ему она он мне мой моя пожалуйста чуть немного немножко слегка капельку побольше
    поменьше больше меньше более менее очень еще тоже также фото фотку фотография фотографию картинку
    картинка изображение портрет образ вид тон тона тоны цвет цвета цвету оттенок оттенки оттенка весь
    все всю целиком теперь потом опять добавь добавить поменяй поменять замени заменить поставь
    поставить измени изменить
"""
_FILLER = frozenset(_FILLER_TEXT.split())


@dataclass(frozen=True, slots=True)
class EditPlan:
    """What the local editor will do for a prompt, and the words it found no way to act on."""

    background: RGB | None = None
    background_label: str | None = None
    grayscale: bool = False
    tone: Literal["warmer", "colder"] | None = None
    brightness: Direction | None = None
    contrast: Direction | None = None
    saturation: Direction | None = None
    not_done: str = ""

    @property
    def done(self) -> tuple[str, ...]:
        """What the plan changes, in the plain English words of the note."""
        done: list[str] = []
        if self.background_label:
            done.append(f"background replaced with {self.background_label} (approximate)")
        if self.grayscale:
            done.append("black-and-white")
        if self.tone:
            done.append(f"{self.tone} colour tone")
        if self.brightness:
            done.append("brighter" if self.brightness == "up" else "darker")
        if self.contrast:
            done.append("more contrast" if self.contrast == "up" else "less contrast")
        if self.saturation:
            done.append("more saturated colours" if self.saturation == "up" else "muted colours")
        return tuple(done)


def plan_edit(prompt: str) -> EditPlan:
    """The edit plan for ``prompt``; pure; when two words ask for opposite things, the later one wins."""
    text = prompt.lower().replace("ё", "е")
    found: list[tuple[int, str, str]] = []  # (position, rule, matched text)
    for name, pattern in _RULES:
        text = pattern.sub(partial(_consume, found, name), text)
    plan = EditPlan()
    for _, name, matched in sorted(found):
        plan = _with_rule(plan, name, matched)
    leftover = " ".join(w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in _FILLER)
    if len(leftover) > 100:
        leftover = leftover[:100].rsplit(" ", 1)[0] + "…"
    return replace(plan, not_done=leftover)


class LocalImageEditor:
    """``ImageEditor`` on Pillow; deterministic: the same image and prompt give the same file and bytes."""

    name = "local"

    async def edit(self, image: Path, prompt: str, *, workdir: Path) -> EditedImage:
        """The edited JPEG (input size kept) and a note of what was done; EditRefused if nothing can be."""
        plan = plan_edit(prompt)
        if not plan.done:
            raise EditRefused("edit_unsupported", f"the local editor only changes {CAPABILITIES}")
        try:
            path, plan = await asyncio.to_thread(_render, image, prompt, plan, workdir)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise ProviderError("edit_failed", f"cannot edit {image.name}: {exc}") from exc
        return EditedImage(path=path, note=edit_note(plan), provider=self.name)


def apply_plan(image: Image.Image, plan: EditPlan) -> tuple[Image.Image, EditPlan]:
    """``image`` (RGB) changed as ``plan`` says, and the plan as carried out (no backdrop → no background).

    The new background is laid over the adjusted person, so a chroma green stays exactly chroma green.
    """
    steps: list[tuple[object, Callable[[Image.Image], Image.Image]]] = [
        (plan.saturation, lambda im: ImageEnhance.Color(im).enhance(_factor(plan.saturation, 1.4, 0.6))),
        (plan.grayscale, lambda im: ImageOps.grayscale(im).convert("RGB")),
        (plan.tone, lambda im: _tone(im, warmer=plan.tone == "warmer")),
        (
            plan.brightness,
            lambda im: ImageEnhance.Brightness(im).enhance(_factor(plan.brightness, 1.25, 0.75)),
        ),
        (plan.contrast, lambda im: ImageEnhance.Contrast(im).enhance(_factor(plan.contrast, 1.35, 0.75))),
    ]
    adjusted = image
    for wanted, step in steps:
        if wanted:
            adjusted = step(adjusted)
    if plan.background is None:
        return adjusted, plan
    mask = background_mask(image)
    if _share(mask) < _MIN_BACKGROUND_SHARE:
        skipped = "background colour (no plain backdrop found)"
        not_done = f"{plan.not_done}; {skipped}" if plan.not_done else skipped
        return adjusted, replace(plan, background=None, background_label=None, not_done=not_done)
    return Image.composite(Image.new("RGB", image.size, plan.background), adjusted, mask), plan


def _render(image: Path, prompt: str, plan: EditPlan, workdir: Path) -> tuple[Path, EditPlan]:
    source = image.read_bytes()
    digest = hashlib.sha256(b"\0".join([EDITOR_VERSION.encode(), source, prompt.encode()])).hexdigest()
    with Image.open(image) as opened:
        original = ImageOps.exif_transpose(opened).convert("RGB")
    result, plan = apply_plan(original, plan)
    if not plan.done:
        raise EditRefused(
            "edit_unsupported", f"no plain backdrop; the local editor only changes {CAPABILITIES}"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"edit-{digest[:16]}.jpg"
    tmp = target.with_name(target.name + ".part")
    result.save(tmp, format="JPEG", quality=JPEG_QUALITY)
    tmp.replace(target)
    return target, plan


def background_mask(image: Image.Image) -> Image.Image:
    """An "L" mask, 255 on the backdrop: the border-connected region grown from the top corners' colour.

    Every backdrop pixel hands its neighbours a reference colour that drifts slowly towards what it sees, so a
    soft gradient is followed while a sharp change (the person's outline) stops the growth.
    """
    width, height = image.size
    small = image.resize((max(1, width // MASK_SCALE), max(1, height // MASK_SCALE)), Image.Resampling.BOX)
    sw, sh = small.size
    data = small.tobytes()
    pixels: list[RGB] = [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]
    corners = [_patch_colour(pixels, sw, sh, x, 0) for x in (0, sw - 1)]
    reference: list[RGB | None] = [None] * (sw * sh)
    queue: deque[int] = deque()
    border = [(x, y) for x in range(sw) for y in (0, sh - 1)]
    border += [(x, y) for y in range(sh) for x in (0, sw - 1)]
    for x, y in border:
        index = y * sw + x
        if reference[index] is None and min(_distance(pixels[index], c) for c in corners) <= _TOLERANCE:
            reference[index] = pixels[index]
            queue.append(index)
    while queue:
        index = queue.popleft()
        x, y = index % sw, index // sw
        ref = reference[index]
        assert ref is not None
        for nx, ny in ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)):
            near = ny * sw + nx
            if 0 <= nx < sw and 0 <= ny < sh and reference[near] is None:
                colour = pixels[near]
                if _distance(colour, ref) <= _TOLERANCE:
                    reference[near] = _drift(ref, colour)
                    queue.append(near)
    mask = Image.frombytes("L", (sw, sh), bytes(0 if ref is None else 255 for ref in reference))
    # Grow the mask a pixel before upscaling, so the old colour does not linger as a halo around the person.
    mask = mask.filter(ImageFilter.MaxFilter(3))
    return mask.resize((width, height), Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(1.5))


def _drift(ref: RGB, colour: RGB) -> RGB:
    return (
        (ref[0] * 4 + colour[0]) // 5,
        (ref[1] * 4 + colour[1]) // 5,
        (ref[2] * 4 + colour[2]) // 5,
    )


def _share(mask: Image.Image) -> float:
    histogram = mask.histogram()
    return sum(histogram[128:]) / max(1, mask.size[0] * mask.size[1])


def edit_note(plan: EditPlan) -> str:
    """The English note shown with the result: what was done and, honestly, what was not."""
    note = "Done locally: " + ", ".join(plan.done) + "."
    if plan.not_done:
        note += f' Not done: "{plan.not_done}" — the local editor only changes {CAPABILITIES}.'
    return note


def _with_rule(plan: EditPlan, name: str, matched: str) -> EditPlan:
    direction: Direction = "down" if name.startswith(("less_", "colder", "darker")) else "up"
    if name in {"chroma", "background"}:
        colour, label = (CHROMA_GREEN, "green screen") if name == "chroma" else _background_colour(matched)
        return replace(plan, background=colour, background_label=label)
    if name == "grayscale":
        return replace(plan, grayscale=True)
    if name in {"warmer", "colder"}:
        return replace(plan, tone="warmer" if direction == "up" else "colder")
    if name in {"brighter", "darker"}:
        return replace(plan, brightness=direction)
    if name.endswith("_contrast"):
        return replace(plan, contrast=direction)
    return replace(plan, saturation=direction)


def _factor(direction: Direction | None, up: float, down: float) -> float:
    return up if direction == "up" else down


def _consume(found: list[tuple[int, str, str]], name: str, match: re.Match[str]) -> str:
    found.append((match.start(), name, match.group(0)))
    return " " * len(match.group(0))  # same length, so later rules still report true positions


def _background_colour(matched: str) -> tuple[RGB, str]:
    hex_colour = re.search(_HEX, matched)
    if hex_colour:
        value = hex_colour.group(0)
        return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)), value
    for label, pattern, rgb in _COLOURS:
        if re.search(pattern, matched):
            return rgb, label
    raise AssertionError(f"background rule matched without a colour: {matched!r}")


def _tone(image: Image.Image, *, warmer: bool) -> Image.Image:
    red, green, blue = image.split()
    factors = (1.08, 1.02, 0.88) if warmer else (0.9, 1.0, 1.1)
    shifts = (8, 0, 0) if warmer else (0, 0, 8)
    channels = [
        channel.point([min(255, max(0, round(v * factor + shift))) for v in range(256)])
        for channel, factor, shift in zip((red, green, blue), factors, shifts, strict=True)
    ]
    return Image.merge("RGB", channels)


def _patch_colour(pixels: list[RGB], width: int, height: int, x: int, y: int) -> RGB:
    """Mean colour of the 3×3 patch at a corner, so one noisy pixel does not decide the backdrop."""
    xs = [min(max(x + dx, 0), width - 1) for dx in (-1, 0, 1)]
    ys = [min(max(y + dy, 0), height - 1) for dy in (0, 1, 2)]
    patch = [pixels[py * width + px] for px in xs for py in ys]
    return (
        sum(p[0] for p in patch) // len(patch),
        sum(p[1] for p in patch) // len(patch),
        sum(p[2] for p in patch) // len(patch),
    )


def _distance(a: RGB, b: RGB) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1]) + abs(a[2] - b[2])
