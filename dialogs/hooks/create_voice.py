"""Create a video: the voice gallery, the script and the speech take the user listens to before paying."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.domain.generations import Draft
from app.domain.pricing import script_chars
from app.services.catalog import Voice
from app.services.providers import ProviderError
from app.services.speech.timings import words_json
from app.services.storage.keys import draft_key
from dialogs.hooks.access import services
from dialogs.hooks.create import (
    UNAVAILABLE,
    VOICE_SCROLL,
    chosen_gender,
    error_text,
    load_draft,
    notify,
    save_draft,
    scratch,
    scroll_page,
)
from dialogs.registry import HookContext, HookRegistry

ALL_VOICES = "all_voices"
TAKES = "takes"  # how many takes this draft has had: each is stored under its own name
SCRIPT_PREVIEW_CHARS = 60

EMPTY = "empty"
TOO_LONG = "too_long"
FAILED = "failed"


def speech_language(ctx: HookContext, voice: Voice | None) -> str:
    """The language the script is spoken in: the user's, when the voice speaks it, else the voice's own."""
    if voice is None:
        return ctx.locale
    return voice.params(ctx.locale).language


def script_start(text: str) -> str:
    """The first words of a script, as lists and summaries show it."""
    flat = " ".join(text.split())
    return flat if len(flat) <= SCRIPT_PREVIEW_CHARS else flat[: SCRIPT_PREVIEW_CHARS - 1].rstrip() + "…"


async def create_voices(ctx: HookContext) -> dict[str, Any]:
    """One voice per page, of the character's gender unless the user asked for all of them."""
    svc = services(ctx)
    texts = svc.texts
    gender = chosen_gender(ctx)
    show_all = bool(ctx.dialog_data.get(ALL_VOICES)) or gender is None
    # Voices that speak the user's language come first; the rest keep the catalog's order.
    voices = sorted(
        svc.catalog.voices(None if show_all else gender), key=lambda v: ctx.locale not in v.languages
    )
    page = await scroll_page(ctx, VOICE_SCROLL, len(voices))
    voice = voices[page] if voices else None
    name = svc.catalog.text(voice.name, ctx.locale) if voice else ""
    return {
        "voice_name": name,
        "voice_description": svc.catalog.text(voice.description, ctx.locale) if voice else "",
        "voice_gender": texts.get(ctx.locale, f"create.voices.gender.{voice.gender}") if voice else "",
        "voice_age": texts.get(ctx.locale, f"create.voices.age.{voice.age_group}") if voice else "",
        "voice_accent": svc.catalog.text(voice.accent, ctx.locale) if voice else "",
        "gender_label": texts.get(ctx.locale, f"create.voices.genders.{gender}") if gender else "",
        "sample": str(voice.sample) if voice else None,
        "pages": len(voices),
        "filtered": not show_all,
        "show_gender_toggle": show_all and gender is not None,
        "pick": [{"id": voice.id, "name": name}] if voice else [],
    }


async def toggle_voices(ctx: HookContext) -> str | None:
    ctx.dialog_data[ALL_VOICES] = not ctx.dialog_data.get(ALL_VOICES)
    scroll = ctx.manager.find(VOICE_SCROLL)
    if scroll is not None:
        await scroll.set_page(0)
    return None


async def pick_voice(ctx: HookContext) -> str | None:
    """Only catalog ids are taken: callback data can be forged."""
    voice = services(ctx).catalog.voice(ctx.item_id or "")
    if voice is None:
        notify(ctx, "create.voices.unavailable")
        return UNAVAILABLE
    save_draft(ctx, load_draft(ctx).with_voice(voice.id))
    return None


async def create_script(ctx: HookContext) -> dict[str, Any]:
    """The limit for the voice's language and, once there is a script, its length, duration and price."""
    svc = services(ctx)
    pricing = svc.pricing
    draft = load_draft(ctx)
    language = speech_language(ctx, svc.catalog.voice(draft.voice_id or ""))
    data: dict[str, Any] = {
        "max_chars": pricing.max_script_chars(language),
        "max_seconds": pricing.max_video_seconds,
        "video_per_5s": pricing.video_per_5s,
        "speech_price": pricing.speech,
        "has_script": bool(draft.script),
        "chars": 0,
        "seconds": 0,
        "cost": 0,
        "script_start": "",
    }
    if draft.script:
        seconds = draft.speech_seconds or pricing.estimate_seconds(draft.script, language)
        data.update(
            chars=script_chars(draft.script),
            seconds=round(seconds, 1),
            cost=pricing.quote(draft.format or "talking_head", seconds).total,
            script_start=script_start(draft.script),
        )
    return data


async def set_script(ctx: HookContext) -> str | None:
    """Check the script against the limit of the voice's language, then make the take to listen to."""
    text = str(ctx.value or "")
    if not text.strip():
        notify(ctx, "create.script.empty")
        return EMPTY
    svc = services(ctx)
    draft = load_draft(ctx)
    language = speech_language(ctx, svc.catalog.voice(draft.voice_id or ""))
    limit = svc.pricing.max_script_chars(language)
    if script_chars(text) > limit:
        notify(ctx, "create.script.too_long", length=script_chars(text), max=limit)
        return TOO_LONG
    return await _make_take(ctx, draft.with_script(text))


async def regenerate_take(ctx: HookContext) -> str | None:
    draft = load_draft(ctx)
    if not draft.script:
        notify(ctx, "create.take.missing")
        return FAILED
    return await _make_take(ctx, draft)


async def _make_take(ctx: HookContext, draft: Draft) -> str | None:
    svc = services(ctx)
    voice = svc.catalog.voice(draft.voice_id or "")
    if voice is None or not draft.script:
        save_draft(ctx, draft)
        notify(ctx, "create.voices.unavailable")
        return UNAVAILABLE
    number = int(ctx.dialog_data.get(TAKES, 0)) + 1
    with scratch(ctx) as folder:
        try:
            take = await svc.speech.synthesize(draft.script, voice.params(ctx.locale), workdir=Path(folder))
        except ProviderError as exc:
            save_draft(ctx, draft)
            notify(ctx, "create.take.failed", reason=error_text(ctx, exc.reason))
            return FAILED
        if not svc.pricing.fits(take.duration):
            save_draft(ctx, draft)
            limit = svc.pricing.max_script_chars(speech_language(ctx, voice))
            notify(ctx, "create.script.too_long", length=script_chars(draft.script), max=limit)
            return TOO_LONG
        await svc.costs.record(take.cost, purpose="take", user_id=draft.user_id)
        wav_key = draft_key(draft.user_id, draft.draft_id, f"take{number}.wav")
        ogg_key = draft_key(draft.user_id, draft.draft_id, f"take{number}.ogg")
        words_key = draft_key(draft.user_id, draft.draft_id, f"take{number}.words.json")
        # The provider's word timings (ElevenLabs' alignment) pace the captions of the video made from it.
        words = Path(folder) / f"take{number}.words.json"
        words.write_text(words_json(take.words), encoding="utf-8")
        await svc.storage.put_file(wav_key, take.wav, content_type="audio/wav")
        await svc.storage.put_file(ogg_key, take.ogg, content_type="audio/ogg")
        await svc.storage.put_file(words_key, words, content_type="application/json")
    ctx.dialog_data[TAKES] = number
    save_draft(
        ctx,
        draft.with_speech(
            speech_key=wav_key,
            speech_ogg_key=ogg_key,
            speech_seconds=take.duration,
            speech_words_key=words_key,
        ),
    )
    return None


def register(registry: HookRegistry) -> None:
    registry.add_getter("create_voices", create_voices)
    registry.add_action("toggle_voices", toggle_voices)
    registry.add_action("pick_voice", pick_voice, outcomes=("ok", UNAVAILABLE))
    registry.add_getter("create_script", create_script)
    registry.add_action("set_script", set_script, outcomes=("ok", EMPTY, TOO_LONG, FAILED, UNAVAILABLE))
    registry.add_action("regenerate_take", regenerate_take, outcomes=("ok", FAILED, TOO_LONG, UNAVAILABLE))
