"""Fixtures shared by every test directory."""

from pathlib import Path

import pytest
from helpers.run_entry import make_tiny_weights


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A complete weights directory at the 'tiny' configuration (random RUDOLPH and VQGAN, a BPE
    trained on sample_input/'s texts), written once per session by scripts/init_weights.py."""
    return make_tiny_weights(tmp_path_factory.mktemp("weights") / "tiny")
