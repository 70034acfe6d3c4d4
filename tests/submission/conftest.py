"""Fixtures for the submission kit: a small input set, hand-made ZIPs."""

import json
import shutil
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def small_input(tmp_path_factory) -> Path:
    """The first sample of each open task of sample_input/, with its images."""
    src = ROOT / "sample_input"
    out = tmp_path_factory.mktemp("input")
    (out / "images").mkdir()
    data = json.loads((src / "input.json").read_text(encoding="utf-8"))
    tasks = json.loads((src / "sample_ids.json").read_text(encoding="utf-8"))
    first = {}
    for sample_id, task in tasks.items():
        first.setdefault(task, sample_id)
    picked = {i: data[i] for i in sorted(first.values(), key=int)}
    for items in picked.values():
        for item in items:
            if item["type"] == "image":
                shutil.copyfile(src / item["content"], out / item["content"])
    (out / "input.json").write_text(json.dumps(picked, ensure_ascii=False), encoding="utf-8")
    return out


@pytest.fixture
def make_zip(tmp_path):
    """make_zip(files) -> a hand-made ZIP of {name: content} (for broken submissions)."""

    def make(files: dict[str, str | bytes], name: str = "hand.zip") -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            for arcname, content in files.items():
                zf.writestr(arcname, content)
        return path

    return make
