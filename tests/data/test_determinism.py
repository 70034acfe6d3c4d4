from __future__ import annotations

from pathlib import Path

import pytest

from synthetic_fbc2 import TASKS, generate_samples, generate_split, write_test_set

from .conftest import REPO


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(tmp_path):
    write_test_set(generate_split("sample", 6), tmp_path / "a")
    write_test_set(generate_split("sample", 6), tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert a["input.json"] == b["input.json"]
    assert a == b  # the JPEGs as well


def test_different_seed_gives_different_data(tmp_path):
    write_test_set(generate_split("sample", 6, seed=1), tmp_path / "a")
    write_test_set(generate_split("sample", 6, seed=2), tmp_path / "b")
    assert (tmp_path / "a" / "input.json").read_bytes() != (tmp_path / "b" / "input.json").read_bytes()


@pytest.mark.parametrize("task", list(TASKS))
def test_longer_list_starts_with_shorter(task):
    short = generate_samples(task, 4, seed=5)
    long = generate_samples(task, 9, seed=5)
    assert [s.texts for s in short] == [s.texts for s in long[:4]]
    assert [s.answers for s in short] == [s.answers for s in long[:4]]


def test_committed_sample_input_is_up_to_date(sample_dir):
    committed = REPO / "sample_input"
    assert committed.is_dir(), "run scripts/make_sample_input.py and commit sample_input/"
    for name in ("input.json", "ground_truth.json", "sample_ids.json"):
        assert (committed / name).read_bytes() == (sample_dir / name).read_bytes(), name
    assert sorted(p.name for p in (committed / "images").iterdir()) == \
        sorted(p.name for p in (sample_dir / "images").iterdir())
