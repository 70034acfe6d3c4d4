import pytest
from helpers.run_entry import load_run_module


@pytest.fixture(scope="session")
def run_module():
    return load_run_module()
