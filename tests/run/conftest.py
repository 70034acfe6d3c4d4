import pytest
from helpers.run_entry import load_run_module, make_tiny_weights


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    return make_tiny_weights(tmp_path_factory.mktemp("weights") / "tiny")


@pytest.fixture(scope="session")
def run_module():
    return load_run_module()
