"""Fixtures for the evaluator tests: a small FBC2-format set built in tmp_path."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import evaluator_fixtures (importlib import mode)

from evaluator_fixtures import Fbc2Set  # noqa: E402


@pytest.fixture
def fbc2_set(tmp_path) -> Fbc2Set:
    return Fbc2Set(tmp_path)
