"""FAQ: the list of questions and the picked question's answer, in the user's language."""

from __future__ import annotations

from typing import Any

from dialogs.hooks.access import services
from dialogs.registry import HookContext, HookRegistry

# The id of the FAQ select in flows.yaml: the engine stores the picked question id under it.
PICKED_QUESTION = "faq_q"


async def faq_questions(ctx: HookContext) -> dict[str, Any]:
    entries = services(ctx).faq.entries(ctx.locale)
    return {"questions": [{"id": e.id, "question": e.question} for e in entries]}


async def faq_answer(ctx: HookContext) -> dict[str, Any]:
    entry = services(ctx).faq.entry(str(ctx.dialog_data.get(PICKED_QUESTION, "")), ctx.locale)
    # A question removed from the catalog while a user had it open shows an empty answer, not an error.
    if entry is None:
        return {"question": "", "answer": ""}
    return {"question": entry.question, "answer": entry.answer}


def register(registry: HookRegistry) -> None:
    registry.add_getter("faq_questions", faq_questions)
    registry.add_getter("faq_answer", faq_answer)
