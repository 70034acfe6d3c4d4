"""Fixtures shared by every test directory."""

import os
import tempfile
from pathlib import Path

import pytest
from helpers.run_entry import make_tiny_weights

# DeepSpeed JIT-builds a CPU communication op under TORCH_EXTENSIONS_DIR (default ~/.cache). A build
# killed half-way leaves a lock file there that makes every later DeepSpeed start wait forever, so each
# test session builds into a folder of its own (subprocesses inherit it).
os.environ.setdefault("TORCH_EXTENSIONS_DIR", tempfile.mkdtemp(prefix="fbc2-torch-extensions-"))


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A complete weights directory at the 'tiny' configuration (random RUDOLPH and VQGAN, a BPE
    trained on sample_input/'s texts), written once per session by scripts/init_weights.py."""
    return make_tiny_weights(tmp_path_factory.mktemp("weights") / "tiny")
