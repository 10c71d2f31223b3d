"""The admin panel (A1–A2): stats, user lookup with grants, revokes and bans, the job monitor, broadcasts.

Every hook here runs only in ``access: admins`` dialogs, which the engine opens to ADMIN_IDS alone; each one
checks the admin again (``_admin``) so a hook reused elsewhere by mistake still does nothing for a user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Bot

from app.domain.generations import GenerationInfo, GenerationStatus
from app.services.admin import AdminDesk, AdminInputError, parse_amount_and_reason
from app.services.broadcasts import Broadcasts, ContentRefused, validate_content
from app.services.stats import StatsSnapshot
from dialogs.hooks.access import date_text, services
from dialogs.hooks.create import error_text, notify
from dialogs.inputs import ReceivedMedia
from dialogs.registry import HookContext, HookRegistry

USER = "admin_user"
JOB = "admin_job"
BROADCAST = "admin_broadcast"
COMPOSED = "admin_broadcast_draft"
NOT_FOUND, BAD, REFUSED = "not_found", "bad", "refused"
AUDIENCES = (None, 7, 30)


class NotAnAdminError(PermissionError):
    pass


def _admin(ctx: HookContext) -> int:
    svc = services(ctx)
    if ctx.user is None or ctx.user.id not in svc.admin_ids:
        raise NotAnAdminError("admin hooks run for admins only")
    return ctx.user.id


def _desk(ctx: HookContext) -> AdminDesk:
    desk = services(ctx).admin
    if desk is None:
        raise RuntimeError("the admin desk is not configured")
    return desk


def _broadcasts(ctx: HookContext) -> Broadcasts:
    found = services(ctx).broadcasts
    if found is None:
        raise RuntimeError("broadcasts are not configured")
    return found


def _input_problem(ctx: HookContext, exc: AdminInputError) -> str:
    notify(ctx, f"admin.errors.{exc.key}", **exc.values)
    return BAD


def _message_key(ctx: HookContext) -> str:
    """What makes one admin input unique: a repeated delivery of the same message grants nothing twice."""
    event = ctx.manager.event
    chat = getattr(getattr(event, "chat", None), "id", 0)
    return f"{chat}:{getattr(event, 'message_id', 0)}"


# --- stats --------------------------------------------------------------------------------------------------


async def admin_stats(ctx: HookContext) -> dict[str, Any]:
    _admin(ctx)
    stats = services(ctx).stats
    if stats is None:
        return {"stats": "—"}
    snapshot = await stats.snapshot()
    return {"stats": render_stats(snapshot, _say(ctx))}


Say = Callable[..., str]


def _say(ctx: HookContext) -> Say:
    """``say("key", **values)``: an ``admin.`` text in the admin's language."""
    texts = services(ctx).texts

    def say(key: str, **values: Any) -> str:
        return texts.render(ctx.locale, f"admin.{key}", values)

    return say


def render_stats(snapshot: StatsSnapshot, say: Say) -> str:
    """The snapshot as the lines of the stats screen, labelled in the admin's language."""
    lines: list[str] = []
    add = lines.append
    u = snapshot.users
    add(say("stats_lines.users", total=u.total, banned=u.banned, blocked=u.blocked))
    add(say("stats_lines.new", today=u.new.today, d7=u.new.last_7d, d30=u.new.last_30d))
    add(say("stats_lines.active", today=u.active.today, d7=u.active.last_7d, d30=u.active.last_30d))
    v = snapshot.videos
    by_status = " · ".join(f"{name} {count}" for name, count in v.by_status.items() if count) or "—"
    add(say("stats_lines.videos", total=v.total, by_status=by_status))
    median = snapshot.time_to_video.median_seconds
    took = "—" if median is None else say("stats_lines.seconds", n=f"{median:.0f}")
    add(say("stats_lines.median", value=took))
    add(say("stats_lines.by_day"))
    add("   " + " ".join(f"{d.day:%d.%m} {d.total}/{d.done}/{d.failed}" for d in v.by_day))
    for window, c in (("all", snapshot.credits.all_time), ("30d", snapshot.credits.last_30d)):
        add(say(f"stats_lines.credits_{window}", issued=c.issued, spent=c.spent, returned=c.returned,
                revoked=c.revoked))  # fmt: skip
    add(say("stats_lines.held", held=snapshot.credits.held_now))
    f = snapshot.failures
    add(say("stats_lines.failed", failed=f.failed, finished=f.finished, rate=f"{f.rate:.0%}"))
    if f.by_step:
        steps = " · ".join(f"{row.step or say('stats_lines.before_start')} {row.failed}" for row in f.by_step)
        add(say("stats_lines.by_step", steps=steps))
    if f.by_provider:
        rows = [f"{r.provider or '?'} {r.failed}/{r.finished} ({r.rate:.0%})" for r in f.by_provider]
        add(say("stats_lines.by_provider", providers=" · ".join(rows)))
    costs = snapshot.costs
    add(say("stats_lines.costs", d30=f"{costs.usd_last_30d:.2f}", all=f"{costs.usd_all_time:.2f}"))
    for line in costs.last_30d:
        add(say("stats_lines.cost_line", provider=line.provider, model=line.model, calls=line.calls,
                units=f"{line.units:g}", usd=f"{line.usd:.2f}"))  # fmt: skip
    return "\n".join(lines)


# --- users --------------------------------------------------------------------------------------------------


async def admin_find_user(ctx: HookContext) -> str | None:
    _admin(ctx)
    try:
        found = await _desk(ctx).find_user(str(ctx.value or ""))
    except AdminInputError as exc:
        return _input_problem(ctx, exc)
    if found is None:
        notify(ctx, "admin.user_find.not_found", query=str(ctx.value or "")[:64])
        return NOT_FOUND
    ctx.dialog_data[USER] = found.id
    return None


async def admin_user(ctx: HookContext) -> dict[str, Any]:
    _admin(ctx)
    user_id = int(ctx.dialog_data.get(USER, 0))
    card = await _desk(ctx).card(user_id) if user_id else None
    if card is None:
        return {"found": False, "card": "—", "banned": False}
    user, say = card.user, _say(ctx)
    yes, no = say("card.yes"), say("card.no")
    lines = [
        say("card.who", name=user.first_name or "—", handle=f"@{user.username}" if user.username else "",
            id=user.id),
        say("card.balance", balance=user.balance, locale=user.locale, since=date_text(user.created_at)),
        say("card.seen", seen=card.last_seen, updates=card.updates),
        say("card.flags", banned=yes if user.is_banned else no, blocked=yes if card.blocked else no),
        say("card.videos") if card.videos else say("card.no_videos"),
        *(f"   #{v.id} {date_text(v.created_at)} · {v.format} · {v.status.value}" for v in card.videos),
        say("card.ledger") if card.ledger else say("card.no_ledger"),
        *(
            f"   {e.delta:+d} {e.reason}{f' — {e.note}' if e.note else ''} ({date_text(e.created_at)})"
            for e in card.ledger
        ),
    ]  # fmt: skip
    return {"found": True, "card": "\n".join(lines), "banned": user.is_banned}


async def _move_credits(ctx: HookContext, revoke: bool) -> str | None:
    admin_id = _admin(ctx)
    user_id = int(ctx.dialog_data.get(USER, 0))
    try:
        amount, reason = parse_amount_and_reason(str(ctx.value or ""))
        desk = _desk(ctx)
        move = desk.revoke if revoke else desk.grant
        entry = await move(admin_id, user_id, amount, reason, key=_message_key(ctx))
    except AdminInputError as exc:
        return _input_problem(ctx, exc)
    notify(ctx, "admin.user.revoked" if revoke else "admin.user.granted", amount=amount,
           balance=entry.balance_after)  # fmt: skip
    return None


async def admin_grant(ctx: HookContext) -> str | None:
    return await _move_credits(ctx, revoke=False)


async def admin_revoke(ctx: HookContext) -> str | None:
    return await _move_credits(ctx, revoke=True)


async def admin_ban(ctx: HookContext) -> str | None:
    admin_id = _admin(ctx)
    banned = bool(ctx.args.get("banned", True))
    user_id = int(ctx.dialog_data.get(USER, 0))
    if user_id in services(ctx).admin_ids and banned:
        notify(ctx, "admin.errors.ban_admin")
        return None
    await _desk(ctx).set_banned(admin_id, user_id, banned)
    notify(ctx, "admin.user.banned" if banned else "admin.user.unbanned")
    return None


# --- jobs ---------------------------------------------------------------------------------------------------


def _job_label(info: GenerationInfo) -> str:
    icon = {"queued": "⏳", "running": "⚙️", "failed": "❌"}.get(info.status.value, "•")
    return f"{icon} #{info.id} · {info.user_id} · {info.step or info.error_reason or info.status.value}"


async def admin_jobs(ctx: HookContext) -> dict[str, Any]:
    _admin(ctx)
    jobs = await _desk(ctx).jobs()
    counts = {
        status: sum(1 for j in jobs if j.status.value == status) for status in ("queued", "running", "failed")
    }
    return {"jobs": [{"id": j.id, "label": _job_label(j)} for j in jobs], "has_jobs": bool(jobs), **counts}


async def admin_pick_job(ctx: HookContext) -> str | None:
    _admin(ctx)
    ctx.dialog_data[JOB] = int(ctx.item_id or 0)
    return None


async def admin_job(ctx: HookContext) -> dict[str, Any]:
    _admin(ctx)
    info = await services(ctx).generations.get(int(ctx.dialog_data.get(JOB, 0)))
    if info is None:
        return {"job": "—", "can_retry": False, "can_refund": False}
    say = _say(ctx)
    lines = [
        say("job_card.head", id=info.id, user=info.user_id, format=info.format, cost=info.cost),
        say("job_card.state", status=info.status.value, step=info.step or "—", attempts=info.attempts),
        say("job_card.created", at=date_text(info.created_at))
        + (say("job_card.finished", at=date_text(info.finished_at)) if info.finished_at else ""),
    ]
    if info.error_reason:
        lines.append(say("job_card.reason", text=error_text(ctx, info.error_reason), code=info.error_reason))
    if info.error_detail:
        lines.append(say("job_card.detail", detail=info.error_detail[:300]))
    active = info.status in (GenerationStatus.QUEUED, GenerationStatus.RUNNING)
    return {
        "job": "\n".join(lines),
        "can_retry": info.status == GenerationStatus.FAILED,
        "can_refund": active,
    }


async def admin_retry(ctx: HookContext) -> str | None:
    admin_id = _admin(ctx)
    try:
        new_id = await _desk(ctx).retry(admin_id, int(ctx.dialog_data.get(JOB, 0)))
    except AdminInputError as exc:
        notify(ctx, f"admin.errors.{exc.key}", **exc.values)
        return REFUSED
    ctx.dialog_data[JOB] = new_id
    notify(ctx, "admin.job.retried", id=new_id)
    return None


async def admin_refund(ctx: HookContext) -> str | None:
    admin_id = _admin(ctx)
    try:
        info = await _desk(ctx).refund(admin_id, int(ctx.dialog_data.get(JOB, 0)))
    except AdminInputError as exc:
        notify(ctx, f"admin.errors.{exc.key}", **exc.values)
        return REFUSED
    notify(ctx, "admin.job.refunded", id=info.id, cost=info.cost)
    return None


# --- broadcasts ---------------------------------------------------------------------------------------------


async def admin_broadcast_compose(ctx: HookContext) -> str | None:
    _admin(ctx)
    value = ctx.value
    if isinstance(value, ReceivedMedia):
        text, photo = value.caption or "", value.file_id
    else:
        text, photo = str(value or ""), None
    try:
        validate_content(text, photo)
    except ContentRefused as exc:
        notify(ctx, f"admin.broadcast.{exc.key}", **exc.values)
        return BAD
    ctx.dialog_data[COMPOSED] = {"text": text, "photo": photo, "days": None, "entities": _entities_of(ctx)}
    return None


def _entities_of(ctx: HookContext) -> list[dict[str, Any]]:
    """The formatting of the admin's message (bold, links…), kept for every copy of the broadcast."""
    message = ctx.manager.event
    found = getattr(message, "caption_entities", None) or getattr(message, "entities", None) or []
    return [entity.model_dump(mode="json", exclude_none=True) for entity in found]


async def admin_broadcast_audience(ctx: HookContext) -> str | None:
    _admin(ctx)
    draft = ctx.dialog_data.get(COMPOSED)
    if not isinstance(draft, dict):
        notify(ctx, "admin.broadcast.lost")
        return BAD
    days = int(ctx.args.get("days", 0)) or None
    ctx.dialog_data[COMPOSED] = {**draft, "days": days}
    return None


async def admin_broadcast_confirm(ctx: HookContext) -> dict[str, Any]:
    _admin(ctx)
    draft = ctx.dialog_data.get(COMPOSED) or {}
    days = draft.get("days")
    size = await _broadcasts(ctx).audience_size(days)
    audience = services(ctx).texts.render(
        ctx.locale, "admin.broadcast.everyone" if days is None else "admin.broadcast.active", {"days": days}
    )
    return {
        "audience": audience,
        "recipients": size,
        "preview_text": draft.get("text", ""),
        "photo": draft.get("photo") or "",
        "has_photo": bool(draft.get("photo")),
    }


async def admin_broadcast_send(ctx: HookContext) -> str | None:
    admin_id = _admin(ctx)
    draft = ctx.dialog_data.pop(COMPOSED, None)
    if not isinstance(draft, dict):
        notify(ctx, "admin.broadcast.lost")
        return BAD
    broadcasts = _broadcasts(ctx)
    try:
        entities = draft.get("entities") or ()
        info = await broadcasts.create(
            admin_id, draft["text"], draft.get("photo"), draft.get("days"), entities=entities
        )
    except ValueError as exc:
        notify(ctx, "admin.broadcast.refused", why=str(exc))
        return BAD
    bot: Bot = ctx.manager.middleware_data["bot"]
    status = await bot.send_message(
        admin_id,
        services(ctx).texts.render(
            ctx.locale, "admin.broadcast.queued", {"id": info.id, "total": info.total}
        ),
    )
    await broadcasts.start(info.id, admin_id, status.message_id)
    await services(ctx).jobs.enqueue_broadcast(info.id)
    await _desk(ctx).audit(admin_id, "broadcast", f"#{info.id} to {info.total}")
    ctx.dialog_data[BROADCAST] = info.id
    return None


async def admin_broadcast_status(ctx: HookContext) -> dict[str, Any]:
    _admin(ctx)
    info = await _broadcasts(ctx).get(int(ctx.dialog_data.get(BROADCAST, 0)))
    if info is None:
        return {"status": "—", "active": False}
    done = info.delivered + info.blocked + info.failed
    text = (
        f"📣 #{info.id}: {info.status} · {done} of {info.total} · delivered {info.delivered} · "
        f"blocked {info.blocked} · failed {info.failed}"
    )
    return {"status": text, "active": info.status in ("draft", "queued", "sending")}


async def admin_broadcast_cancel(ctx: HookContext) -> str | None:
    admin_id = _admin(ctx)
    broadcast_id = int(ctx.dialog_data.get(BROADCAST, 0))
    if await _broadcasts(ctx).cancel(broadcast_id):
        await _desk(ctx).audit(admin_id, "broadcast_cancel", f"#{broadcast_id}")
        notify(ctx, "admin.broadcast.stopped", id=broadcast_id)
    return None


def register(registry: HookRegistry) -> None:
    registry.add_getter("admin_stats", admin_stats)
    registry.add_action("admin_find_user", admin_find_user, outcomes=("ok", NOT_FOUND, BAD))
    registry.add_getter("admin_user", admin_user)
    registry.add_action("admin_grant", admin_grant, outcomes=("ok", BAD))
    registry.add_action("admin_revoke", admin_revoke, outcomes=("ok", BAD))
    registry.add_action("admin_ban", admin_ban)
    registry.add_getter("admin_jobs", admin_jobs)
    registry.add_action("admin_pick_job", admin_pick_job)
    registry.add_getter("admin_job", admin_job)
    registry.add_action("admin_retry", admin_retry, outcomes=("ok", REFUSED))
    registry.add_action("admin_refund", admin_refund, outcomes=("ok", REFUSED))
    registry.add_action("admin_broadcast_compose", admin_broadcast_compose, outcomes=("ok", BAD))
    registry.add_action("admin_broadcast_audience", admin_broadcast_audience, outcomes=("ok", BAD))
    registry.add_getter("admin_broadcast_confirm", admin_broadcast_confirm)
    registry.add_action("admin_broadcast_send", admin_broadcast_send, outcomes=("ok", BAD))
    registry.add_getter("admin_broadcast_status", admin_broadcast_status)
    registry.add_action("admin_broadcast_cancel", admin_broadcast_cancel)
