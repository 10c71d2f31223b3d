"""``make portraits`` and ``make samples``: same bytes every run, within Telegram limits, real photos kept."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from app.services.catalog import photo_problem, voice_note_problem
from tests.integration.catalog.media import ROOT, probe_audio, run_script

PORTRAITS = "make_portraits.py"
SAMPLES = "make_voice_samples.py"


def test_portraits_are_the_same_bytes_on_every_run(tmp_path: Path) -> None:
    for run in ("first", "second"):
        result = run_script(PORTRAITS, "--out", tmp_path / run, "tatiana", "maxim")
        assert result.returncode == 0, result.stderr

    for name in ("tatiana.jpg", "maxim.jpg"):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()
    assert (tmp_path / "first/tatiana.jpg").read_bytes() != (tmp_path / "first/maxim.jpg").read_bytes()


def test_portraits_are_720x1280_jpegs_well_under_a_megabyte(tmp_path: Path) -> None:
    result = run_script(PORTRAITS, "--out", tmp_path)
    assert result.returncode == 0, result.stderr

    portraits = sorted(tmp_path.glob("*.jpg"))
    assert len(portraits) == 12
    for path in portraits:
        with Image.open(path) as image:
            assert (image.format, image.size) == ("JPEG", (720, 1280)), path.name
        assert path.stat().st_size < 300 * 1024, path.name
        assert photo_problem(path) is None


def test_a_real_photo_is_kept_unless_forced(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    (catalog / "characters").mkdir(parents=True)
    shutil.copy(ROOT / "catalog/characters.yaml", catalog)
    photo = catalog / "characters/anna.jpg"
    Image.new("RGB", (720, 1280), (10, 20, 30)).save(photo, "JPEG")
    real = photo.read_bytes()

    kept = run_script(PORTRAITS, "--catalog", catalog, "anna")
    assert (kept.returncode, photo.read_bytes()) == (1, real)
    assert "not drawn by this script" in kept.stdout

    forced = run_script(PORTRAITS, "--catalog", catalog, "--force", "anna")
    assert forced.returncode == 0, forced.stderr
    drawn = photo.read_bytes()
    assert drawn != real

    again = run_script(PORTRAITS, "--catalog", catalog, "anna")  # its own drawing is replaced freely
    assert (again.returncode, photo.read_bytes()) == (0, drawn)


def test_an_unknown_id_is_refused(tmp_path: Path) -> None:
    for script in (PORTRAITS, SAMPLES):
        result = run_script(script, "--out", tmp_path, "nobody")
        assert result.returncode == 2
        assert "unknown" in result.stderr and "nobody" in result.stderr


def test_samples_are_the_same_bytes_on_every_run_and_play_as_voice_messages(tmp_path: Path) -> None:
    for run in ("first", "second"):
        result = run_script(SAMPLES, "--out", tmp_path / run, "ru_vera", "en_josh")
        assert result.returncode == 0, result.stderr

    for name in ("ru_vera.ogg", "en_josh.ogg"):
        first = tmp_path / "first" / name
        assert first.read_bytes() == (tmp_path / "second" / name).read_bytes()
        assert voice_note_problem(first) is None
        facts = probe_audio(first)
        assert (facts.codec, facts.channels, facts.sample_rate) == ("opus", 1, 48000)
        assert 1.5 <= facts.duration <= 10


def test_the_catalog_speed_reaches_espeak_ng(tmp_path: Path) -> None:
    slow = tmp_path / "slow"
    slow.mkdir()
    voices = (ROOT / "catalog/voices.yaml").read_text(encoding="utf-8")
    assert "{voice: ru+f3, pitch: 65, speed: 165}" in voices
    (slow / "voices.yaml").write_text(voices.replace("speed: 165", "speed: 110"), encoding="utf-8")

    normal = run_script(SAMPLES, "--out", tmp_path / "normal", "ru_alisa")
    slowed = run_script(SAMPLES, "--catalog", slow, "--out", tmp_path / "slowed", "ru_alisa")
    assert normal.returncode == slowed.returncode == 0, normal.stderr + slowed.stderr

    normal_s = probe_audio(tmp_path / "normal/ru_alisa.ogg").duration
    slowed_s = probe_audio(tmp_path / "slowed/ru_alisa.ogg").duration
    assert slowed_s > normal_s * 1.3
