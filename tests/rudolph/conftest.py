import pytest
import torch

from solution.rudolph import CONFIGS, build_model, get_config


@pytest.fixture(scope="module")
def tiny_params():
    return dict(CONFIGS["tiny"])


@pytest.fixture(scope="module")
def tiny_model(tiny_params):
    torch.manual_seed(0)
    return build_model(tiny_params).eval()


@pytest.fixture(scope="module")
def tiny_config(tiny_params):
    return get_config(tiny_params)


@pytest.fixture
def cuda_standin(monkeypatch):
    """torch.cuda's streams, events and graphs replaced by the CPU stand-in (helpers/cuda_standin.py)."""
    from helpers.cuda_standin import CudaStandin

    return CudaStandin().install(monkeypatch)
