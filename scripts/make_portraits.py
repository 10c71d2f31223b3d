"""Draw the placeholder portraits of ``catalog/characters.yaml``: 720×1280 JPEG, the same bytes on every run.

Usage: ``python scripts/make_portraits.py [--catalog DIR] [--out DIR] [--force] [ID ...]``.
Colours, hair and face follow from the character's id, gender, age group and tags; a "sample" label marks
them as drawings. A file this script did not draw (a real photo) is never overwritten without ``--force``.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TypeVar

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from app.services.catalog import CHARACTERS_FILE, Character, CharactersFile, read_catalog_file

CATALOG = Path(__file__).resolve().parents[1] / "catalog"
WIDTH, HEIGHT = 720, 1280
SCALE = 2  # drawn at twice the size and scaled down, for smooth edges
QUALITY = 85
CX, CY, RX, RY = 360, 560, 125, 160  # the head: centre and radii, in 720×1280 coordinates
# Written into the JPEG comment: how the script tells its own drawings from real photos it must not overwrite.
SIGNATURE = b"ugc-bot stylised placeholder portrait (scripts/make_portraits.py)"

Color = tuple[int, int, int]
T = TypeVar("T")

BACKGROUNDS: tuple[tuple[Color, Color], ...] = (
    ((250, 214, 165), (233, 150, 122)),
    ((168, 218, 220), (69, 123, 157)),
    ((233, 196, 106), (244, 162, 97)),
    ((202, 240, 248), (120, 190, 220)),
    ((255, 202, 212), (205, 180, 219)),
    ((189, 224, 254), (140, 170, 230)),
    ((216, 243, 220), (120, 200, 160)),
    ((230, 230, 234), (150, 160, 180)),
)
SKINS: tuple[Color, ...] = (
    (255, 224, 196),
    (241, 194, 167),
    (224, 172, 135),
    (198, 134, 99),
    (161, 102, 72),
    (112, 72, 52),
)
HAIR: tuple[Color, ...] = (
    (35, 28, 26),
    (72, 48, 34),
    (110, 72, 44),
    (165, 108, 60),
    (214, 176, 110),
    (140, 60, 40),
)
GREY_HAIR: tuple[Color, ...] = ((190, 190, 190), (215, 212, 205), (160, 158, 155), (235, 235, 232))
IRISES: tuple[Color, ...] = ((92, 64, 51), (60, 110, 160), (80, 120, 80), (70, 50, 40))
CLOTHES: dict[str, tuple[Color, ...]] = {
    "business": ((34, 48, 74), (55, 58, 64), (30, 30, 34), (90, 60, 50)),
    "sport": ((230, 57, 70), (42, 157, 143), (255, 183, 3), (58, 134, 255)),
    "casual": ((244, 241, 222), (129, 178, 154), (224, 122, 95), (61, 64, 91), (242, 204, 143)),
}


# Hairstyles each gender and age group may get.
HAIRSTYLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("female", "young"): ("long", "bob", "ponytail"),
    ("female", "adult"): ("long", "bob", "bun"),
    ("female", "senior"): ("bob", "bun"),
    ("male", "young"): ("short", "quiff"),
    ("male", "adult"): ("short", "quiff", "side_part"),
    ("male", "senior"): ("short", "bald"),
}


@dataclass(frozen=True, slots=True)
class Look:
    """Everything the drawing varies, chosen once from the character."""

    background: tuple[Color, Color]
    skin: Color
    hair: Color
    hairstyle: str
    iris: Color
    clothes: Color
    style: str  # business | sport | casual
    beard: bool
    glasses: bool
    seed: int


def _trait(character_id: str, trait: str, count: int) -> int:
    """A number below ``count`` fixed by the id; each trait has its own, so adding one changes no other."""
    digest = hashlib.sha256(f"{character_id}-{trait}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def look_of(character: Character) -> Look:
    """The same look for the same id, gender, age group and tags, on every machine."""

    def pick(trait: str, options: tuple[T, ...]) -> T:
        return options[_trait(character.id, trait, len(options))]

    senior = character.age_group == "senior"
    tags = set(character.tags)
    style = "business" if "business" in tags else "sport" if tags & {"fitness", "sport"} else "casual"
    return Look(
        background=pick("background", BACKGROUNDS),
        skin=pick("skin", SKINS),
        hair=pick("hair", GREY_HAIR if senior else HAIR),
        hairstyle=pick("hairstyle", HAIRSTYLES[character.gender, character.age_group]),
        iris=pick("iris", IRISES),
        clothes=pick("clothes", CLOTHES[style]),
        style=style,
        beard=character.gender == "male" and character.age_group != "young" and pick("beard", (True, False)),
        glasses=senior or (style == "business" and pick("glasses", (True, False))),
        seed=_trait(character.id, "seed", 2**32),
    )


def shade(color: Color, factor: float) -> Color:
    r, g, b = (min(255, max(0, round(c * factor))) for c in color)
    return (r, g, b)


def draw_portrait(character: Character) -> Image.Image:
    """A 720×1280 RGB portrait of ``character``."""
    look = look_of(character)
    size = (WIDTH * SCALE, HEIGHT * SCALE)
    image = _background(look, size)
    pen = ImageDraw.Draw(image)
    cx, cy, rx, ry = CX, CY, RX, RY
    if look.hairstyle in {"long", "bob"}:
        bottom = 930 if look.hairstyle == "long" else cy + 120
        pen.rounded_rectangle(
            box(cx - rx - 40, cy - ry - 20, cx + rx + 40, bottom),
            radius=110 * SCALE,
            fill=shade(look.hair, 0.8),
        )
    _torso(pen, look)
    pen.rectangle(box(cx - 55, cy + 100, cx + 55, 860), fill=shade(look.skin, 0.88))  # neck
    for side in (-1, 1):  # ears
        pen.ellipse(
            box(cx + side * rx - 22, cy - 25, cx + side * rx + 22, cy + 45), fill=shade(look.skin, 0.95)
        )
    pen.ellipse(box(cx - rx, cy - ry, cx + rx, cy + ry), fill=look.skin)
    if look.beard:
        pen.chord(box(cx - rx, cy - ry + 60, cx + rx, cy + ry + 6), 15, 165, fill=look.hair)
    _hair(pen, look, character)
    _face(pen, look, character)
    portrait = image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    _label(portrait)
    return portrait


def _background(look: Look, size: tuple[int, int]) -> Image.Image:
    top, bottom = (Image.new("RGB", size, c) for c in look.background)
    image = Image.composite(bottom, top, Image.linear_gradient("L").resize(size))
    # Soft out-of-focus circles, as behind a person filmed on a phone.
    glow = Image.new("L", size, 0)
    rng = random.Random(look.seed)
    circles = ImageDraw.Draw(glow)
    for _ in range(7):
        x, y, r = rng.randrange(size[0]), rng.randrange(size[1] // 2), rng.randrange(60, 200) * SCALE
        circles.ellipse((x - r, y - r, x + r, y + r), fill=rng.randrange(40, 90))
    glow = glow.filter(ImageFilter.GaussianBlur(24 * SCALE))
    return Image.composite(Image.new("RGB", size, (255, 255, 255)), image, glow)


def _torso(pen: ImageDraw.ImageDraw, look: Look) -> None:
    cx = CX
    pen.rounded_rectangle(box(60, 830, 660, 1500), radius=200 * SCALE, fill=look.clothes)
    if look.style == "business":
        pen.polygon([_pt(cx - 75, 830), _pt(cx + 75, 830), _pt(cx, 1080)], fill=(245, 245, 245))
        lapel = shade(look.clothes, 0.75)
        pen.polygon([_pt(cx - 75, 830), _pt(cx, 1080), _pt(cx - 120, 1000), _pt(cx - 130, 860)], fill=lapel)
        pen.polygon([_pt(cx + 75, 830), _pt(cx, 1080), _pt(cx + 120, 1000), _pt(cx + 130, 860)], fill=lapel)
    elif look.style == "sport":
        stripe = shade(look.clothes, 0.7)
        for side in (-1, 1):
            pen.line([_pt(cx + side * 150, 850), _pt(cx + side * 230, 1280)], fill=stripe, width=22 * SCALE)
        pen.chord(box(cx - 85, 780, cx + 85, 920), 0, 180, fill=shade(look.skin, 0.88))
    else:
        pen.chord(box(cx - 80, 790, cx + 80, 900), 0, 180, fill=shade(look.skin, 0.88))


def _hair(pen: ImageDraw.ImageDraw, look: Look, character: Character) -> None:
    cx, cy, rx, ry = CX, CY, RX, RY
    if look.hairstyle == "bald":
        for side in (-1, 1):
            pen.ellipse(box(cx + side * rx - 25, cy - 70, cx + side * rx + 25, cy + 10), fill=look.hair)
        return
    if look.hairstyle == "bun":
        pen.ellipse(box(cx - 62, cy - ry - 95, cx + 62, cy - ry + 25), fill=look.hair)
    elif look.hairstyle == "ponytail":
        pen.ellipse(box(cx + rx - 30, cy - ry + 10, cx + rx + 60, cy + 60), fill=shade(look.hair, 0.9))
    pen.chord(box(cx - rx - 12, cy - ry - 24, cx + rx + 12, cy + 30), 180, 360, fill=look.hair)
    if look.hairstyle == "quiff":
        pen.ellipse(box(cx - 70, cy - ry - 55, cx + 110, cy - ry + 45), fill=look.hair)
    elif look.hairstyle == "side_part":
        pen.chord(
            box(cx - rx - 16, cy - ry - 10, cx + rx - 30, cy + 10), 180, 300, fill=shade(look.hair, 1.1)
        )
    if character.gender == "female":
        lock_bottom = cy + 150 if look.hairstyle in {"long", "bob"} else cy + 20
        for side in (-1, 1):
            x = cx + side * (rx - 8)
            pen.ellipse(box(x - 34, cy - 80, x + 34, lock_bottom), fill=look.hair)
        pen.chord(box(cx - rx, cy - ry + 20, cx + rx + 40, cy - 10), 180, 330, fill=look.hair)  # side fringe


def _face(pen: ImageDraw.ImageDraw, look: Look, character: Character) -> None:
    cx, cy = CX, CY
    brow = shade(look.hair, 0.6) if character.age_group != "senior" else shade(look.hair, 0.75)
    for side in (-1, 1):
        ex = cx + side * 48
        pen.ellipse(box(ex - 22, cy + 2, ex + 22, cy + 26), fill=(250, 250, 250))
        pen.ellipse(box(ex - 10, cy + 4, ex + 10, cy + 24), fill=look.iris)
        pen.ellipse(box(ex - 4, cy + 10, ex + 4, cy + 18), fill=(20, 20, 20))
        pen.line([_pt(ex - 24, cy - 16), _pt(ex + 24, cy - 20)], fill=brow, width=7 * SCALE)
        if character.gender == "female":
            pen.line([_pt(ex - 22, cy + 4), _pt(ex - 30, cy - 2)], fill=(40, 30, 30), width=3 * SCALE)
        if look.glasses:
            pen.ellipse(box(ex - 36, cy - 14, ex + 36, cy + 42), outline=(40, 40, 45), width=5 * SCALE)
        if character.age_group == "senior":
            pen.arc(
                box(ex - 30, cy + 22, ex + 30, cy + 46), 20, 160, fill=shade(look.skin, 0.8), width=2 * SCALE
            )
    if look.glasses:
        pen.line([_pt(cx - 12, cy + 12), _pt(cx + 12, cy + 12)], fill=(40, 40, 45), width=5 * SCALE)
    pen.arc(box(cx - 14, cy + 30, cx + 14, cy + 62), 300, 60, fill=shade(look.skin, 0.75), width=4 * SCALE)
    lips = (196, 84, 92) if character.gender == "female" else shade(look.skin, 0.75)
    if look.beard:  # the mouth must stand out against the beard
        lips = (190, 120, 110)
    pen.chord(box(cx - 38, cy + 66, cx + 38, cy + 104), 10, 170, fill=lips)
    if character.gender == "female":
        blush = shade(look.skin, 0.94)
        for side in (-1, 1):
            pen.ellipse(box(cx + side * 72 - 22, cy + 50, cx + side * 72 + 22, cy + 72), fill=blush)


def _label(portrait: Image.Image) -> None:
    pen = ImageDraw.Draw(portrait)
    font = ImageFont.load_default(size=26)
    pen.rounded_rectangle((20, 20, 138, 62), radius=10, fill=(30, 30, 34))
    pen.text((79, 41), "sample", font=font, fill=(255, 255, 255), anchor="mm")


def _pt(x: float, y: float) -> tuple[int, int]:
    """A point in 720×1280 coordinates on the drawing canvas."""
    return (round(x * SCALE), round(y * SCALE))


def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    """A bounding box in 720×1280 coordinates on the drawing canvas."""
    return (*_pt(x0, y0), *_pt(x1, y1))


def portrait_bytes(character: Character) -> bytes:
    """The JPEG file of ``character``'s portrait."""
    buffer = BytesIO()
    draw_portrait(character).save(buffer, "JPEG", quality=QUALITY, optimize=True, comment=SIGNATURE)
    return buffer.getvalue()


def is_generated(path: Path) -> bool:
    """True when ``path`` is a portrait this script drew (safe to overwrite)."""
    try:
        with Image.open(path) as image:
            return image.info.get("comment") == SIGNATURE
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("ids", nargs="*", help="only these characters (default: all)")
    parser.add_argument("--catalog", type=Path, default=CATALOG, help="default: %(default)s")
    parser.add_argument(
        "--out", type=Path, help="write <out>/<id>.jpg instead of each character's image path"
    )
    parser.add_argument("--force", action="store_true", help="overwrite files this script did not draw")
    args = parser.parse_args(argv)

    characters = read_catalog_file(args.catalog / CHARACTERS_FILE, CharactersFile).characters
    unknown = set(args.ids) - {c.id for c in characters}
    if unknown:
        print(f"unknown character ids: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    status = 0
    for character in characters:
        if args.ids and character.id not in args.ids:
            continue
        target = args.out / f"{character.id}.jpg" if args.out else args.catalog / character.image
        if target.suffix.lower() not in {".jpg", ".jpeg"}:
            print(f"{character.id}: skipped, its image {character.image} is not a .jpg")
            continue
        if target.exists() and not args.force and not is_generated(target):
            print(f"{target}: not drawn by this script (a real photo?), kept; --force overwrites it")
            status = 1
            continue
        data = portrait_bytes(character)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        print(f"{target}: {len(data) // 1024} KB")
    return status


if __name__ == "__main__":
    sys.exit(main())
