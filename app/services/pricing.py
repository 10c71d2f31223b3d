"""``catalog/pricing.yaml`` loaded and validated into the domain's :class:`Pricing`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.domain.credits import MAX_AMOUNT
from app.domain.pricing import Pricing, started_units
from app.services.catalog_files import CatalogError, load_catalog_file

__all__ = ["CatalogError", "PricingFile", "load_pricing"]

Price = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]
# Language codes as the voices catalog writes them ("ru", "en").
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]
# Human speech runs at roughly 10–20 characters a second; far outside that is a typo.
Rate = Annotated[float, Field(gt=1, le=60)]


class PricingFile(BaseModel):
    # Strict: "5" or 2.5 credits in the file is a mistake to report, not to convert.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    welcome_bonus: Price
    look_edit: Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
    speech: Price
    video_per_5s: Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
    background_surcharge: Price
    max_video_seconds: Annotated[int, Field(ge=1, le=600)]
    max_look_edits: Annotated[int, Field(ge=0, le=20)]
    max_active_generations: Annotated[int, Field(ge=1, le=100)]
    chars_per_second: Annotated[dict[Language, Rate], Field(min_length=1)]

    @model_validator(mode="after")
    def _longest_video_is_chargeable(self) -> PricingFile:
        # The ledger moves at most MAX_AMOUNT at once; the dearest video must stay within it.
        units = started_units(self.max_video_seconds)
        dearest = self.speech + units * self.video_per_5s + self.background_surcharge
        if dearest > MAX_AMOUNT:
            raise ValueError(f"the longest video would cost {dearest} credits, more than {MAX_AMOUNT}")
        return self

    def to_pricing(self) -> Pricing:
        return Pricing(
            look_edit=self.look_edit,
            speech=self.speech,
            video_per_5s=self.video_per_5s,
            background_surcharge=self.background_surcharge,
            welcome_bonus=self.welcome_bonus,
            max_video_seconds=self.max_video_seconds,
            max_look_edits=self.max_look_edits,
            max_active_generations=self.max_active_generations,
            chars_per_second=dict(self.chars_per_second),
        )


def load_pricing(path: Path) -> Pricing:
    """Read and validate ``path``; raises ``CatalogError`` naming the file, the line and the problem."""
    return load_catalog_file(path, PricingFile).to_pricing()
