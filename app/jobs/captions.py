"""The captions step: a style picked by name from ``catalog/captions.yaml``, burned in by ffmpeg."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.services.captions.burn import CaptionBurner
from app.services.captions.style import CaptionStyleError, CaptionStyles, load_caption_styles
from app.services.catalog_files import CatalogError
from app.services.providers import WordTiming


@dataclass
class StyledCaptioner:
    burner: CaptionBurner
    styles: CaptionStyles

    async def burn(
        self, video: Path, words: Sequence[WordTiming], style: str | None, *, workdir: Path
    ) -> Path:
        """``style`` by name; an unknown or missing name (a style removed from YAML) gets the default."""
        return await self.burner.burn(video, words, self.styles.style(style), workdir=workdir)


def build_captioner(path: Path) -> StyledCaptioner:
    """Raises ``CatalogError`` naming the file, style and field when the YAML is wrong."""
    try:
        styles = load_caption_styles(path)
    except CaptionStyleError as exc:
        raise CatalogError(str(exc)) from None
    return StyledCaptioner(CaptionBurner(), styles)
