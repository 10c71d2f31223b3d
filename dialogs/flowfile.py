"""One call for the runtime and the CLI: load flows.yaml and its texts, validate both, collect problems."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dialogs.errors import FlowError, FlowErrors, TextsProblem
from dialogs.i18n import TextCatalog, TextLocation, TextsError
from dialogs.loader import LoadedFlows, load_flows
from dialogs.registry import HookRegistry
from dialogs.validate import validate_flows

_LINE_PREFIX = re.compile(r"^:(\d+): ")


@dataclass(frozen=True, slots=True)
class FlowCheck:
    """The outcome of checking a flows file; ``loaded``/``texts`` are None when loading failed."""

    path: Path
    loaded: LoadedFlows | None = None
    texts: TextCatalog | None = None
    problems: list[FlowError] = field(default_factory=list)

    @property
    def errors(self) -> list[FlowError]:
        return [p for p in self.problems if p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def check_flows_file(path: Path, registry: HookRegistry) -> FlowCheck:
    """Load, schema-check and meaning-check ``path`` and its locale texts; never raises for a bad file."""
    try:
        loaded = load_flows(path)
    except FlowErrors as exc:
        return FlowCheck(path, problems=exc.errors)
    texts, problems = load_texts(loaded)
    problems += validate_flows(loaded, registry, texts)
    # The flows file first, in line order, then the locale files.
    problems.sort(key=lambda p: (p.file != loaded.path, str(p.file), p.line))
    return FlowCheck(path, loaded, texts, problems)


def load_texts(loaded: LoadedFlows) -> tuple[TextCatalog, list[FlowError]]:
    """The texts of every locale that loads, and a problem for each locale file that exists but is broken."""
    flows = loaded.flows
    folder = loaded.path.parent / flows.texts
    texts: dict[str, dict[str, str]] = {}
    locations: dict[tuple[str, str], TextLocation] = {}
    problems: list[FlowError] = []
    for locale in flows.locales:
        file = folder / f"{locale}.yaml"
        if not file.is_file():
            continue  # validate_flows reports locales without texts
        try:
            # One locale at a time, so that one broken file does not hide the others.
            catalog = TextCatalog.load(folder, [locale], flows.default_locale)
        except TextsError as exc:
            problems.append(_texts_problem(file, exc))
            continue
        texts[locale] = {key: catalog.get(locale, key) for key in catalog.keys(locale)}
        for key in texts[locale]:
            where = catalog.location(locale, key)
            if where is not None:
                locations[(locale, key)] = where
    return TextCatalog(texts, flows.default_locale, locations), problems


def _texts_problem(file: Path, exc: TextsError) -> TextsProblem:
    rest = str(exc).removeprefix(str(file))
    match = _LINE_PREFIX.match(rest)
    if match:
        return TextsProblem(file, int(match.group(1)), rest[match.end() :])
    cause = exc.__cause__
    if isinstance(cause, yaml.MarkedYAMLError) and cause.problem_mark is not None:
        what = " ".join(part for part in (cause.context, cause.problem) if part)
        return TextsProblem(file, cause.problem_mark.line + 1, f"malformed YAML: {what}")
    return TextsProblem(file, 1, rest.removeprefix(": "))


def load_validated(path: Path, registry: HookRegistry) -> tuple[LoadedFlows, TextCatalog]:
    """The flow and its texts, ready to compile; raises ``FlowErrors`` listing every error (file:line)."""
    result = check_flows_file(path, registry)
    if result.errors or result.loaded is None or result.texts is None:
        raise FlowErrors(result.errors)
    return result.loaded, result.texts
