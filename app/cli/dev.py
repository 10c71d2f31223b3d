"""``python -m app dev`` (what ``make run`` starts): every process of the bot under one supervisor.

With no ``TELEGRAM_BOT_TOKEN`` it starts the local Telegram stand-in and points the bot at it; with a token
it runs the bot against Telegram. Migrations are applied first. Ctrl-C (or SIGTERM) stops every child; a
child that dies on its own stops the rest, so a broken start is never half-running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LOCAL_TOKEN = "123456:LOCAL-dev-token"
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Child:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]


def plan(env: Mapping[str, str], host: str, port: int) -> tuple[list[Child], str | None]:
    """The processes to supervise and the line that tells the person where to chat (None when on Telegram)."""
    python = sys.executable
    bot_env = dict(env)
    children: list[Child] = []
    banner = None
    if not env.get("TELEGRAM_BOT_TOKEN"):
        token = env.get("LOCAL_TELEGRAM_TOKEN", LOCAL_TOKEN)
        children.append(
            Child(
                "local-telegram",
                [python, "-m", "app", "local-telegram", "--host", host, "--port", str(port)],
                {**env, "LOCAL_TELEGRAM_TOKEN": token},
            )
        )
        bot_env |= {"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": f"http://{host}:{port}"}
        banner = f"Open http://{host}:{port} to chat with the bot"
    children.append(Child("bot", [python, "-m", "app", "run"], bot_env))
    return children, banner


async def _wait_http(host: str, port: int, within: float = 20.0) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


async def _stop(procs: dict[str, asyncio.subprocess.Process]) -> None:
    for proc in procs.values():
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    for name, proc in procs.items():
        try:
            await asyncio.wait_for(proc.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            print(f"dev: {name} did not stop in {STOP_GRACE_SECONDS:.0f}s, killing it", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def supervise(children: Sequence[Child], banner: str | None, host: str, port: int) -> int:
    migrate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "migrate", env=dict(children[-1].env)
    )
    if await migrate.wait() != 0:
        print("dev: migrations failed; not starting the bot", file=sys.stderr)
        return 1

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        for child in children:
            procs[child.name] = await asyncio.create_subprocess_exec(*child.argv, env=dict(child.env))
            if child.name == "local-telegram" and not await _wait_http(host, port):
                print(f"dev: local Telegram did not start on {host}:{port}", file=sys.stderr)
                return 1
        if banner:
            print(f"\n{banner}\n", flush=True)
        waiters = {asyncio.ensure_future(p.wait()): name for name, p in procs.items()}
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([*waiters, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in [*waiters, stopper]:
            if task not in done:
                task.cancel()
        if stopper in done:
            print("dev: stopping…", flush=True)
            return 0
        name = next(waiters[t] for t in done if t in waiters)
        print(f"dev: {name} exited with code {procs[name].returncode}; stopping the rest", file=sys.stderr)
        return 1
    finally:
        await _stop(procs)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m app dev", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_TELEGRAM_PORT", "8081")))
    args = parser.parse_args(argv)
    children, banner = plan(os.environ, args.host, args.port)
    return asyncio.run(supervise(children, banner, args.host, args.port))
