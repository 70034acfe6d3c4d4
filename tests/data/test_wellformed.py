"""The written test set follows the FBC2 contract (checked on a fresh one and on the committed one)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from synthetic_fbc2 import TASK_BY_ID

from .conftest import REPO

IMAGE_TASKS = {2}  # ImageGeneration answers with an image


def _load(root: Path, name: str) -> dict:
    return json.loads((root / name).read_text(encoding="utf-8"))


@pytest.fixture(params=["fresh", "committed"])
def test_set(request, sample_dir) -> Path:
    return sample_dir if request.param == "fresh" else REPO / "sample_input"


def _check_image(root: Path, rel: str) -> None:
    assert rel.startswith("images/") and not Path(rel).is_absolute() and ".." not in rel
    path = root / rel
    assert path.is_file(), rel
    with Image.open(path) as img:
        assert img.format == "JPEG"
        assert img.size == (256, 256)
        img.convert("RGB").load()


def test_ids_and_files_agree(test_set):
    inputs, truth, ids = (_load(test_set, n) for n in ("input.json", "ground_truth.json", "sample_ids.json"))
    assert list(inputs) == [str(i) for i in range(len(inputs))]
    assert set(truth) == set(inputs) == set(ids)
    assert Counter(ids.values()) == {t: 20 for t in range(6)}
    tasks_in_order = [ids[k] for k in inputs]
    assert tasks_in_order != sorted(tasks_in_order), "tasks should be shuffled together"


def test_input_items(test_set):
    inputs, ids = _load(test_set, "input.json"), _load(test_set, "sample_ids.json")
    for key, items in inputs.items():
        assert items and all(set(it) == {"type", "content"} for it in items)
        kinds = [it["type"] for it in items]
        assert set(kinds) <= {"text", "image"}
        for it in items:
            if it["type"] == "text":
                assert isinstance(it["content"], str) and it["content"].strip()
            else:
                assert it["content"] == f"images/{int(key):05d}.jpg"
                _check_image(test_set, it["content"])
        task = TASK_BY_ID[ids[key]].name
        expected_images = 0 if task in ("TextQA", "MathQA", "ImageGeneration") else 1
        assert kinds.count("image") == expected_images, (key, task)


def test_ground_truth(test_set):
    truth, ids = _load(test_set, "ground_truth.json"), _load(test_set, "sample_ids.json")
    input_text = (test_set / "input.json").read_text(encoding="utf-8")
    for key, items in truth.items():
        assert isinstance(items, list) and len(items) == 1
        (item,) = items
        if ids[key] in IMAGE_TASKS:
            assert item["type"] == "image" and item["content"] == f"images/gt_{int(key):05d}.jpg"
            _check_image(test_set, item["content"])
            assert item["content"] not in input_text
        else:
            assert item["type"] == "text"
            golds = item["content"]
            assert isinstance(golds, list) and golds
            assert all(isinstance(g, str) and g.strip() for g in golds)
            assert len(set(golds)) == len(golds)


def test_no_stray_images(test_set):
    inputs, truth = _load(test_set, "input.json"), _load(test_set, "ground_truth.json")
    referenced = {it["content"] for items in (*inputs.values(), *truth.values()) for it in items
                  if it["type"] == "image"}
    on_disk = {f"images/{p.name}" for p in (test_set / "images").iterdir()}
    assert referenced == on_disk


def test_committed_sample_input_is_small():
    total = sum(p.stat().st_size for p in (REPO / "sample_input").rglob("*") if p.is_file())
    assert total < 3_000_000
