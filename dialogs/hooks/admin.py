"""The admin panel (A1–A2): stats, user lookup with grants, revokes and bans, the job monitor, broadcasts.

Every hook here runs only in ``access: admins`` dialogs, which the engine opens to ADMIN_IDS alone; each one
checks the admin again (``_admin``) so a hook reused elsewhere by mistake still does nothing for a user."""

from __future__ import annotations

from typing import Any

from aiogram import Bot

from app.domain.generations import GenerationInfo, GenerationStatus
from app.services.admin import AdminDesk, AdminInputError, parse_amount_and_reason
from app.services.broadcasts import MAX_CAPTION, MAX_TEXT, Broadcasts
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
    return {"stats": render_stats(snapshot)}


def render_stats(snapshot: StatsSnapshot) -> str:
    """The snapshot as the lines of the stats screen (operators' numbers; labels in plain English)."""
    lines: list[str] = []
    add = lines.append
    u = snapshot.users
    add(f"👥 Users: {u.total} · banned {u.banned} · blocked the bot {u.blocked}")
    add(f"   new: today {u.new.today} · 7 d {u.new.last_7d} · 30 d {u.new.last_30d}")
    add(f"   active: today {u.active.today} · 7 d {u.active.last_7d} · 30 d {u.active.last_30d}")
    v = snapshot.videos
    by_status = " · ".join(f"{name} {count}" for name, count in v.by_status.items() if count) or "none yet"
    add(f"🎬 Videos: {v.total} ({by_status})")
    median = snapshot.time_to_video.median_seconds
    add(f"   median time to video (30 d): {'—' if median is None else f'{median:.0f} s'}")
    add("   last 14 days, total / done / failed:")
    add("   " + " ".join(f"{d.day:%d.%m} {d.total}/{d.done}/{d.failed}" for d in v.by_day))
    for label, c in (("all time", snapshot.credits.all_time), ("30 d", snapshot.credits.last_30d)):
        moved = f"issued {c.issued} · spent {c.spent} · returned {c.returned} · revoked {c.revoked}"
        add(f"💳 Credits {label}: {moved}")
    add(f"   held by videos in progress: {snapshot.credits.held_now}")
    f = snapshot.failures
    add(f"❌ Failed (30 d): {f.failed} of {f.finished} ({f.rate:.0%})")
    if f.by_step:
        add("   by step: " + " · ".join(f"{row.step or 'before start'} {row.failed}" for row in f.by_step))
    if f.by_provider:
        rows = [f"{r.provider or 'unknown'} {r.failed}/{r.finished} ({r.rate:.0%})" for r in f.by_provider]
        add("   by provider: " + " · ".join(rows))
    costs = snapshot.costs
    add(f"💵 Provider cost estimate: 30 d ${costs.usd_last_30d:.2f} · all time ${costs.usd_all_time:.2f}")
    for line in costs.last_30d:
        add(f"   {line.provider} {line.model}: {line.calls} calls, {line.units:g} units, ${line.usd:.2f}")
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
    user = card.user
    videos = "\n".join(
        f"   #{v.id} {date_text(v.created_at)} · {v.format} · {v.status.value}" for v in card.videos
    )
    ledger = "\n".join(
        f"   {e.delta:+d} {e.reason}{f' — {e.note}' if e.note else ''} ({date_text(e.created_at)})"
        for e in card.ledger
    )
    lines = [
        f"👤 {user.first_name or '—'} {('@' + user.username) if user.username else ''} · id {user.id}",
        f"Balance: {user.balance} cr. · language {user.locale} · since {date_text(user.created_at)}",
        f"Last seen: {card.last_seen} · updates: {card.updates}",
        f"Banned: {'yes' if user.is_banned else 'no'} · blocked the bot: {'yes' if card.blocked else 'no'}",
        "Last videos:" if videos else "No videos yet.",
        *([videos] if videos else []),
        "Last credit movements:" if ledger else "No credit movements.",
        *([ledger] if ledger else []),
    ]
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
    return f"{icon} #{info.id} · user {info.user_id} · {info.step or info.error_reason or info.status.value}"


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
    lines = [
        f"🎬 #{info.id} · user {info.user_id} · {info.format} · {info.cost} cr.",
        f"Status: {info.status.value} · step: {info.step or '—'} · attempts: {info.attempts}",
        f"Created: {date_text(info.created_at)}"
        + (f" · finished {date_text(info.finished_at)}" if info.finished_at else ""),
    ]
    if info.error_reason:
        lines.append(f"Reason: {error_text(ctx, info.error_reason)} ({info.error_reason})")
    if info.error_detail:
        lines.append(f"Detail: {info.error_detail[:300]}")
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
        if len(text) > MAX_CAPTION:
            notify(ctx, "admin.broadcast.caption_too_long", max=MAX_CAPTION, length=len(text))
            return BAD
    else:
        text, photo = str(value or ""), None
        if not text.strip() or len(text) > MAX_TEXT:
            notify(ctx, "admin.broadcast.text_too_long", max=MAX_TEXT, length=len(text))
            return BAD
    ctx.dialog_data[COMPOSED] = {"text": text, "photo": photo, "days": None}
    return None


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
        info = await broadcasts.create(admin_id, draft["text"], draft.get("photo"), draft.get("days"))
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
