"""Sub-commands of ``python -m app``; each module exposes ``main(argv: list[str]) -> int``."""
