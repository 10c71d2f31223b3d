"""The preview: every window of the real flows.yaml renders from its preview data; HTML and SVG written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dialogs.compile import compile_flows
from dialogs.flowfile import load_validated
from dialogs.hooks import build_registry
from dialogs.i18n import TextCatalog
from dialogs.preview import render_windows, stub_registry, write_preview
from dialogs.schema import Flows
from tests.conftest import ROOT
from tests.integration.engine.harness import catalog, load_flows

PLACEHOLDER = re.compile(r"\{[^{}\s]*\}")


@pytest.fixture(scope="module")
def real() -> tuple[Flows, TextCatalog]:
    loaded, texts = load_validated(ROOT / "flows.yaml", build_registry())
    return loaded.flows, texts


@pytest.mark.parametrize("locale", ["ru", "en"])
async def test_every_real_window_renders_without_placeholders(
    real: tuple[Flows, TextCatalog], locale: str
) -> None:
    flows, texts = real
    compiled = compile_flows(flows, build_registry(), texts, base_dir=ROOT)
    windows = await render_windows(compiled, locale)
    assert [w.address for w in windows] == [f"{d}.{w}" for d, w, _ in flows.iter_windows()]
    for window in windows:
        shown = [window.text] + [b.text for row in window.keyboard for b in row]
        assert window.text.strip(), window.address
        assert not [s for s in shown if PLACEHOLDER.search(s)], window.address
        assert all(b.leads_to for row in window.keyboard for b in row), window.address


async def test_locales_differ_in_the_preview(real: tuple[Flows, TextCatalog]) -> None:
    flows, texts = real
    compiled = compile_flows(flows, build_registry(), texts, base_dir=ROOT)
    ru = {w.address: w.text for w in await render_windows(compiled, "ru")}
    en = {w.address: w.text for w in await render_windows(compiled, "en")}
    assert ru["main.menu"] != en["main.menu"]


async def test_write_preview_of_the_real_flows(real: tuple[Flows, TextCatalog], tmp_path: Path) -> None:
    flows, texts = real
    files = await write_preview(flows, texts, build_registry(), base_dir=ROOT, out_dir=tmp_path / "preview")
    html = files.html.read_text(encoding="utf-8")
    svg = files.graph.read_text(encoding="utf-8")
    for dialog, window, _ in flows.iter_windows():
        assert f'id="{dialog}.{window}"' in html
        assert f">{window}</text>" in svg
    assert "<svg" in svg
    assert 'xlink:href="/' not in svg  # icons embedded, the file works anywhere


MEDIA_FLOWS = """
version: 1
start: main.menu
locales: [en]
default_locale: en
dialogs:
  main:
    windows:
      menu:
        text: t.menu
        getter: menu
        media: {kind: photo, path: img/card.png}
        keyboard:
          - {text: t.go, action: go, next: clip, on: {broke: "@home"}}
      clip:
        text: t.clip
        media: {kind: video, field: clip}
        input: {accept: [video], action: got, next: menu}
        preview:
          clip: "https://example.com/c.mp4"
"""


async def test_preview_needs_no_real_hooks_and_shows_media(tmp_path: Path) -> None:
    flows = load_flows(MEDIA_FLOWS)
    texts = catalog({"en": {"t.menu": "Menu", "t.go": "Go", "t.clip": "Clip"}})
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "card.png").write_bytes(b"\x89PNG")
    out = tmp_path / "docs" / "preview"
    files = await write_preview(flows, texts, stub_registry(flows), base_dir=tmp_path, out_dir=out)
    html = files.html.read_text(encoding="utf-8")
    assert '<img src="../../img/card.png"' in html
    assert "[video] https://example.com/c.mp4" in html
    assert "go(): ok → main.clip, broke → @home (main.menu)" in html
    assert "✍️ video" in html


def test_cli_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.preview import main

    out = tmp_path / "preview"
    assert main([str(ROOT / "flows.yaml"), "--out", str(out)]) == 0
    assert (out / "index.html").is_file()
    assert (out / "flows.svg").is_file()
    assert str(out / "index.html") in capsys.readouterr().out


def test_cli_refuses_a_broken_flows_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.preview import main

    broken = tmp_path / "flows.yaml"
    broken.write_text("version: 1\nstart: main.menu\n", encoding="utf-8")
    assert main([str(broken), "--out", str(tmp_path / "out")]) == 1
    assert "check-flows" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
