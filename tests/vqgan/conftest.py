import pytest
import torch

from solution.vqgan import build_vqgan, get_vqgan_config


@pytest.fixture(scope="module")
def tiny():
    """The `tiny` VQGAN with seeded random weights (downsampling 4, 64 codes)."""
    torch.manual_seed(0)
    return build_vqgan(**get_vqgan_config("tiny"))


@pytest.fixture
def images():
    """Two 16x16 images in [0, 1] (4x4 tokens with `tiny`): a smooth gradient and noise."""
    g = torch.Generator().manual_seed(1)
    ramp = torch.linspace(0, 1, 16)
    gradient = torch.stack([ramp[None, :].expand(16, 16), ramp[:, None].expand(16, 16), 1 - ramp[None, :].expand(16, 16)])
    return torch.stack([gradient, torch.rand(3, 16, 16, generator=g)])
