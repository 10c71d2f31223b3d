"""Named getters and actions called from flows.yaml, one module per feature."""

from __future__ import annotations

from dialogs.hooks import (
    admin,
    balance,
    create,
    create_captions,
    create_look,
    create_order,
    create_preview,
    create_voice,
    faq,
    feedback,
    history,
    language,
    menu,
    profile,
    start,
)
from dialogs.registry import HookRegistry

# One module per feature, each with ``register(registry)``. A name registered twice is refused, so the order
# never decides which hook runs.
FEATURES = (
    start,
    menu,
    faq,
    profile,
    balance,
    language,
    create,
    create_look,
    create_voice,
    create_captions,
    create_preview,
    create_order,
    history,
    feedback,
    admin,
)


def build_registry() -> HookRegistry:
    """Every hook flows.yaml may name."""
    registry = HookRegistry()
    for feature in FEATURES:
        feature.register(registry)
    return registry
