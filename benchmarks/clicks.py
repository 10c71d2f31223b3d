"""Clicks per second through ``Dispatcher.feed_update``: the YAML layer against the same windows by hand.

``python -m benchmarks.clicks [--clicks N] [--rounds R] [--users U] [--write FILE.md] [--profile yaml|hand]
[--unpinned]`` — see docs/benchmarks.md for the method and the recorded results.

Both sides run in one process against one throw-away redis-server, each with RedisStorage (destiny keys)
and both isolation locks, the real MessageManager and a Bot whose session encodes every call and parses
every answer like aiogram does in production, with no network. Rounds alternate between the sides (ABBA)
so that drift hits both.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import gc
import io
import itertools
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import Update
from aiogram_dialog import setup_dialogs
from aiogram_dialog.manager.message_manager import MessageManager
from redis.asyncio import Redis

from benchmarks import handwritten
from benchmarks.hooks import build_registry
from benchmarks.telegram import BOT_TOKEN, DATE, OfflineTelegramSession
from dialogs.attach import attach_flows
from dialogs.compile import compile_flows
from dialogs.i18n import TextCatalog
from dialogs.schema import Flows
from tests.support.servers import redis_server

BENCH_DIR = Path(__file__).resolve().parent
FLOWS_FILE = BENCH_DIR / "flows_bench.yaml"
RESULTS_START = "<!-- results:start (written by `make bench`) -->"
RESULTS_END = "<!-- results:end -->"
YAML_SIDE = "YAML layer"
HAND_SIDE = "hand-written"
FIRST_USER_ID = 10_001
CALLS_CLICKS_PER_USER = 4
ONE_CLICK_CALLS = ("editMessageText", "answerCallbackQuery")

Attach = Callable[[Dispatcher, BaseEventIsolation], None]
Screen = tuple[str, tuple[tuple[str, ...], ...]]


def attach_handwritten(dp: Dispatcher, isolation: BaseEventIsolation) -> None:
    dp.include_router(handwritten.build_router())
    setup_dialogs(dp, events_isolation=isolation, message_manager=MessageManager())


def attach_yaml(dp: Dispatcher, isolation: BaseEventIsolation) -> None:
    flows = Flows.model_validate(yaml.safe_load(FLOWS_FILE.read_text(encoding="utf-8")))
    texts = TextCatalog.load(BENCH_DIR / flows.texts, flows.locales, flows.default_locale)
    compiled = compile_flows(flows, build_registry(), texts, base_dir=BENCH_DIR)
    attach_flows(dp, compiled, texts, events_isolation=isolation, message_manager=MessageManager())


@dataclass
class Side:
    """One Dispatcher with its own Redis database, Bot and offline Telegram."""

    name: str
    dp: Dispatcher
    bot: Bot
    session: OfflineTelegramSession
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def build(cls, name: str, redis_url: str, db: int, attach: Attach, *, pin: bool) -> Side:
        redis = Redis.from_url(f"{redis_url.rsplit('/', 1)[0]}/{db}")
        storage = RedisStorage(redis, key_builder=DefaultKeyBuilder(with_destiny=True))
        isolation = storage.create_isolation()
        dp = Dispatcher(storage=storage, events_isolation=isolation)
        attach(dp, isolation)
        session = OfflineTelegramSession(pin_response_types=pin)
        return cls(name, dp, Bot(BOT_TOKEN, session=session), session)

    async def feed(self, raw: dict[str, Any]) -> None:
        update = Update.model_validate({"update_id": next(self.update_ids), **raw}, context={"bot": self.bot})
        await self.dp.feed_update(self.bot, update)

    async def send_start(self, user_id: int) -> None:
        message_id = self.session.next_message_id(user_id)
        await self.feed(
            {
                "message": {
                    "message_id": message_id,
                    "date": DATE,
                    "chat": _chat(user_id),
                    "from": _user(user_id),
                    "text": "/start",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                }
            }
        )

    async def click(self, user_id: int) -> None:
        """Press the first button of the message on the user's screen."""
        shown = self.session.shown[user_id]
        data = shown["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        await self.feed(
            {
                "callback_query": {
                    "id": f"{user_id}-{shown['message_id']}-{data}",
                    "from": _user(user_id),
                    "chat_instance": str(user_id),
                    "message": shown,
                    "data": data,
                }
            }
        )

    def screen(self, user_id: int) -> Screen:
        shown = self.session.shown[user_id]
        rows = shown.get("reply_markup", {}).get("inline_keyboard", [])
        return shown["text"], tuple(tuple(button["text"] for button in row) for row in rows)

    async def close(self) -> None:
        await self.bot.session.close()
        await self.dp.storage.close()


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Bench", "language_code": "ru"}


def _chat(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": "Bench"}


@dataclass(frozen=True)
class Round:
    clicks: int
    seconds: float
    cpu_seconds: float
    redis_commands: Counter[str]
    api_calls: Counter[str]

    @property
    def rate(self) -> float:
        return self.clicks / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.clicks


async def redis_calls(admin: Redis) -> Counter[str]:
    stats = await admin.info("commandstats")
    # The INFO calls are this harness's own; every other command is the bot's.
    stats.pop("cmdstat_info", None)
    # Connection set-up (a new pooled connection selects its database), not the work of a click.
    for setup in ("select", "hello", "client|setinfo", "client"):
        stats.pop(f"cmdstat_{setup}", None)
    return Counter({name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()})


async def measure(side: Side, admin: Redis, users: Sequence[int], clicks_per_user: int) -> Round:
    async def one_user(user_id: int) -> None:
        for _ in range(clicks_per_user):
            await side.click(user_id)

    gc.collect()
    api_before = Counter(side.session.calls)
    redis_before = await redis_calls(admin)
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one_user(u) for u in users))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    redis_delta = await redis_calls(admin)
    redis_delta.subtract(redis_before)
    api_delta = Counter(side.session.calls)
    api_delta.subtract(api_before)
    return Round(len(users) * clicks_per_user, seconds, cpu_seconds, +redis_delta, +api_delta)


async def walk(side: Side, user_id: int, clicks: int) -> list[Screen]:
    """The screens one user sees after /start and each click: proves both sides show the same windows."""
    await side.send_start(user_id)
    screens = [side.screen(user_id)]
    for _ in range(clicks):
        await side.click(user_id)
        screens.append(side.screen(user_id))
    return screens


@dataclass
class Result:
    rounds: dict[str, list[Round]]
    users: int
    clicks_per_round: int
    pinned: bool
    calls_per_click: dict[str, float]


async def run(
    redis_url: str, *, users: int, clicks: int, rounds: int, profile: str | None, pin: bool
) -> Result:
    sides = {
        YAML_SIDE: Side.build(YAML_SIDE, redis_url, 0, attach_yaml, pin=pin),
        HAND_SIDE: Side.build(HAND_SIDE, redis_url, 1, attach_handwritten, pin=pin),
    }
    admin = Redis.from_url(redis_url)
    try:
        walks = {name: await walk(side, 1, 6) for name, side in sides.items()}
        if walks[YAML_SIDE] != walks[HAND_SIDE]:
            raise SystemExit(f"the two sides show different screens:\n{_diff(walks)}")
        user_ids = list(range(FIRST_USER_ID, FIRST_USER_ID + users))
        clicks_per_user = max(1, clicks // users)
        for side in sides.values():  # warm-up: every user has a dialog, every code path ran once
            for user_id in user_ids:
                await side.send_start(user_id)
            await measure(side, admin, user_ids, 3)
        if profile is not None:
            _print_profile(await _profile(sides[profile], admin, user_ids, clicks_per_user), profile)
        results: dict[str, list[Round]] = {name: [] for name in sides}
        order = [YAML_SIDE, HAND_SIDE]
        for i in range(rounds):
            for name in order if i % 2 == 0 else reversed(order):
                measured = await measure(sides[name], admin, user_ids, clicks_per_user)
                if measured.api_calls != Counter(dict.fromkeys(ONE_CLICK_CALLS, measured.clicks)):
                    raise SystemExit(
                        f"{name}: a click should cost {ONE_CLICK_CALLS}, got {measured.api_calls}"
                    )
                results[name].append(measured)
        # Function calls are a measure of work that other processes on the machine cannot disturb.
        calls = {}
        for name, side in sides.items():
            stats = await _profile(side, admin, user_ids, CALLS_CLICKS_PER_USER)
            # typeshed does not declare pstats.Stats.total_calls, which every Stats object has.
            total: int = stats.total_calls  # type: ignore[attr-defined]
            calls[name] = total / (CALLS_CLICKS_PER_USER * len(user_ids))
        return Result(results, users, users * clicks_per_user, pin, calls)
    finally:
        for side in sides.values():
            await side.close()
        await admin.aclose()


def _diff(walks: dict[str, list[Screen]]) -> str:
    lines = []
    for i, (a, b) in enumerate(zip(walks[YAML_SIDE], walks[HAND_SIDE], strict=True)):
        if a != b:
            lines.append(f"step {i}:\n  {YAML_SIDE}: {a!r}\n  {HAND_SIDE}: {b!r}")
    return "\n".join(lines)


async def _profile(side: Side, admin: Redis, user_ids: Sequence[int], clicks_per_user: int) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    await measure(side, admin, user_ids, clicks_per_user)
    profiler.disable()
    return pstats.Stats(profiler)


def _print_profile(stats: pstats.Stats, name: str) -> None:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]  # typeshed omits Stats.stream, where print_stats writes
    stats.strip_dirs().sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)
    print(f"## cProfile of one round, {name}\n```\n{out.getvalue()}```", file=sys.stderr)


def _per_click(counts: Counter[str], clicks: int) -> str:
    total = sum(counts.values()) / clicks
    parts = ", ".join(f"{name} {n / clicks:g}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"{total:g} ({parts})"


def _summed(rounds: list[Round], counts: Callable[[Round], Counter[str]]) -> str:
    total: Counter[str] = Counter()
    for r in rounds:
        total.update(counts(r))
    return _per_click(total, sum(r.clicks for r in rounds))


def _extra(ratio: float) -> str:
    """A cost ratio YAML / hand-written as the YAML layer's extra cost in percent."""
    return f"{(ratio - 1) * 100:+.1f} %"


def report(result: Result) -> str:
    ys, hs = result.rounds[YAML_SIDE], result.rounds[HAND_SIDE]
    y_rate, h_rate = statistics.median(r.rate for r in ys), statistics.median(r.rate for r in hs)
    y_cpu, h_cpu = statistics.median(r.cpu_ms for r in ys), statistics.median(r.cpu_ms for r in hs)
    rate_pairs = [h.rate / y.rate for y, h in zip(ys, hs, strict=True)]
    cpu_pairs = [y.cpu_ms / h.cpu_ms for y, h in zip(ys, hs, strict=True)]
    y_calls, h_calls = result.calls_per_click[YAML_SIDE], result.calls_per_click[HAND_SIDE]
    ratio = h_rate / y_rate
    rows = [
        ("clicks/s, median", f"**{y_rate:.0f}**", f"**{h_rate:.0f}**"),
        ("clicks/s, every round", _listed(r.rate for r in ys), _listed(r.rate for r in hs)),
        ("wall ms per click, median", f"{1000 / y_rate:.2f}", f"{1000 / h_rate:.2f}"),
        ("CPU ms per click in the bot process, median", f"{y_cpu:.2f}", f"{h_cpu:.2f}"),
        ("Python function calls per click (cProfile)", f"{y_calls:.0f}", f"{h_calls:.0f}"),
        ("Redis commands per click", _summed(ys, _redis), _summed(hs, _redis)),
        ("Bot API calls per click", _summed(ys, _api), _summed(hs, _api)),
    ]
    extra = [
        ("clicks/s, ratio of the medians", ratio),
        ("clicks/s, median of the per-round-pair ratios", statistics.median(rate_pairs)),
        ("CPU time per click, ratio of the medians", y_cpu / h_cpu),
        ("CPU time per click, median of the per-round-pair ratios", statistics.median(cpu_pairs)),
        ("Python function calls per click", y_calls / h_calls),
    ]
    pinned = "held (see above)" if result.pinned else "rebuilt after GC, as aiogram does (--unpinned)"
    verdict = "within" if ratio <= 1.05 else "ABOVE"
    return "\n".join(
        [
            f"{len(ys)} rounds × {result.clicks_per_round} clicks per side, {result.users} users clicking at "
            f"once (each waits for its own previous click); Response[T] classes {pinned}.",
            "",
            f"| | {YAML_SIDE} (flows → compile → attach) | {HAND_SIDE} aiogram-dialog |",
            "|---|---|---|",
            *(f"| {a} | {b} | {c} |" for a, b, c in rows),
            "",
            f"**Ratio hand-written / YAML (clicks/s, medians): {ratio:.3f} → YAML overhead {_extra(ratio)}** "
            f"({verdict} the 5 % target).",
            "",
            "| YAML overhead, measured by | |",
            "|---|---|",
            *(f"| {a} | {_extra(b)} |" for a, b in extra),
            "",
            f"Per-round-pair ratios, clicks/s: {_listed(rate_pairs, 2)}; CPU time: {_listed(cpu_pairs, 2)}.",
        ]
    )


def _listed(values: Iterable[float], digits: int = 0) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


def _redis(r: Round) -> Counter[str]:
    return r.redis_commands


def _api(r: Round) -> Counter[str]:
    return r.api_calls


def machine(load_before: float) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.split()
    server = next((w.removeprefix("v=") for w in redis_version if w.startswith("v=")), "?")
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("aiogram", "aiogram-dialog", "pydantic", "redis")
    )
    return (
        f"{dt.date.today().isoformat()} · {os.cpu_count()} CPUs ({cpu}) · "
        f"Python {platform.python_version()} · {versions} (redis-py) · redis-server {server} · "
        f"1-minute load average before the run {load_before:.2f}"
    )


def write_results(path: Path, text: str) -> None:
    """Replace the results section of ``path`` (between the markers), keeping everything around it."""
    block = f"{RESULTS_START}\n{text}\n{RESULTS_END}"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if RESULTS_START in old and RESULTS_END in old:
        head, rest = old.split(RESULTS_START, 1)
        new = head + block + rest.split(RESULTS_END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.clicks", description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=1000, help="clicks per round and side (default 1000)")
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds per side (default 10)")
    parser.add_argument("--users", type=int, default=50, help="users clicking at once (default 50)")
    parser.add_argument("--write", type=Path, help="rewrite the results section of this Markdown file")
    parser.add_argument("--profile", choices=["yaml", "hand"], help="cProfile one round of this side first")
    parser.add_argument(
        "--unpinned", action="store_true", help="let aiogram rebuild Response[T] classes after GC (noisy)"
    )
    args = parser.parse_args(argv)
    profile = {"yaml": YAML_SIDE, "hand": HAND_SIDE}.get(args.profile)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as workdir, redis_server(Path(workdir)) as url:
        result = asyncio.run(
            run(
                url,
                users=args.users,
                clicks=args.clicks,
                rounds=args.rounds,
                profile=profile,
                pin=not args.unpinned,
            )
        )
    text = (
        f"### Clicks per second, YAML layer vs hand-written\n\n{machine(load_before)}\n\n{report(result)}\n\n"
        f"Whole run: {time.perf_counter() - started:.0f} s."
    )
    print(text)
    if args.write is not None:
        write_results(args.write, text)
        print(f"\nresults written to {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
