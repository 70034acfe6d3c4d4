from __future__ import annotations

from pathlib import Path

import pytest

from synthetic_fbc2 import generate_split, write_test_set

REPO = Path(__file__).resolve().parents[2]
PER_TASK = {"sample": 20, "heldout": 50, "train": 60}


@pytest.fixture(scope="session")
def split_samples():
    """Generated samples of every split, cached for the session."""
    cache: dict = {}

    def get(split: str):
        if split not in cache:
            cache[split] = generate_split(split, PER_TASK[split])
        return cache[split]

    return get


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory, split_samples) -> Path:
    """The sample split written as a test set to a fresh folder."""
    out = tmp_path_factory.mktemp("sample_input")
    write_test_set(split_samples("sample"), out)
    return out
