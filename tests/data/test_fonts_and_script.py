from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from synthetic_fbc2 import fonts

from .conftest import REPO

SCRIPT = REPO / "scripts" / "make_sample_input.py"
NO_CYRILLIC = Path("/usr/share/fonts/truetype/dejavu/DejaVuMathTeXGyre.ttf")


@pytest.fixture
def fresh_font_cache():
    fonts.find_cyrillic_fonts.cache_clear()
    yield
    fonts.find_cyrillic_fonts.cache_clear()


def test_a_cyrillic_font_is_found(fresh_font_cache):
    found = fonts.find_cyrillic_fonts()
    assert found and all(fonts.has_cyrillic(p) for p in found)


@pytest.mark.skipif(not NO_CYRILLIC.is_file(), reason="needs a font without Cyrillic")
def test_font_without_cyrillic_is_rejected():
    assert not fonts.has_cyrillic(str(NO_CYRILLIC))


def test_no_font_fails_with_install_hint(monkeypatch, fresh_font_cache):
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    monkeypatch.setattr(fonts, "PREFERRED", [])
    monkeypatch.setattr(fonts, "_fc_list", lambda: [str(NO_CYRILLIC)])
    with pytest.raises(fonts.FontNotFoundError, match="fonts-dejavu-core"):
        fonts.find_cyrillic_fonts()


def test_bad_font_env_is_reported(monkeypatch, tmp_path, fresh_font_cache):
    monkeypatch.setenv(fonts.FONT_ENV, str(tmp_path / "missing.ttf"))
    with pytest.raises(fonts.FontNotFoundError, match="FBC2_FONT"):
        fonts.find_cyrillic_fonts()


def test_script_help():
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True)
    assert "--per-task" in out.stdout and "--split" in out.stdout and "--seed" in out.stdout


def test_script_writes_test_set_and_training_folders(tmp_path):
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "t"), "--per-task", "2",
                    "--split", "heldout"], check=True, capture_output=True)
    ids = json.loads((tmp_path / "t" / "sample_ids.json").read_text(encoding="utf-8"))
    assert sorted(ids.values()) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "tr"), "--per-task", "2",
                    "--split", "train"], check=True, capture_output=True)
    assert (tmp_path / "tr" / "mathqa" / "math_train_answer.json").is_file()


def test_texts_do_not_depend_on_the_fonts_installed(monkeypatch, fresh_font_cache):
    from synthetic_fbc2 import generate_samples

    all_fonts = [(s.answers, s.meta["key"]) for s in generate_samples("TRitW", 12, seed=1)]
    monkeypatch.setenv(fonts.FONT_ENV, fonts.PREFERRED[0])
    fonts.find_cyrillic_fonts.cache_clear()
    assert fonts.find_cyrillic_fonts() == (fonts.PREFERRED[0],)
    one_font = [(s.answers, s.meta["key"]) for s in generate_samples("TRitW", 12, seed=1)]
    assert one_font == all_fonts


def test_task_count_overrides_one_task(tmp_path):
    out = tmp_path / "tr"
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--per-task", "2", "--split", "train",
                    "--task-count", "TRitW=5"], check=True, capture_output=True)
    sizes = {f.parent.name: len(json.loads(f.read_text(encoding="utf-8")))
             for f in out.glob("*/*_train.json")}
    assert sizes == {"textqa": 2, "mathqa": 2, "generation": 2, "captioning": 2, "vqa": 2, "text_recognition": 5}


@pytest.mark.parametrize("args, message", [
    (["--task-count", "Foo=3"], "TASK one of"),
    (["--task-count", "TRitW=x"], "not a whole number"),
    (["--task-count", "TRitW=0"], "at least 1"),
    (["--task-count", "TRitW=3", "--split", "heldout"], "training format"),
])
def test_bad_task_count_is_refused(tmp_path, args, message):
    out = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "x"), "--split", "train", *args],
                         capture_output=True, text=True)
    assert out.returncode == 2 and message in out.stderr
    assert not (tmp_path / "x").exists()
