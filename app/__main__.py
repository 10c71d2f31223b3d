"""``python -m app <command>``: the one entry point for every process and tool of UGC Bot."""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("app.cli.run", "run the bot (polling, or webhook when WEBHOOK_URL is set)"),
    "worker": ("app.cli.worker", "run a generation worker (arq): renders, previews, scheduled tasks"),
    "dev": ("app.cli.dev", "local Telegram + bot + embedded services as one supervised command"),
    "local-telegram": ("app.cli.local_telegram", "run the local Bot API server with its web chat"),
    "check-flows": (
        "app.cli.check_flows",
        "validate flows.yaml and texts; --against OLD.yaml lists removals",
    ),
    "check-catalog": ("app.cli.check_catalog", "validate catalog/: characters, voices, images, samples"),
    "preview": ("app.cli.preview", "render every window to HTML and the flow graph to SVG"),
    "migrate": ("app.cli.migrate", "apply database migrations"),
    "catalog": ("app.cli.catalog", "catalog tools: sync-voices checks catalog voices against ElevenLabs"),
    "storage": ("app.cli.storage", "storage tools: init makes the bucket and its tmp/ lifecycle rule"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m app <command> [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    code: int = module.main(rest)
    return code


if __name__ == "__main__":
    sys.exit(main())
