"""Sber-VQGAN (taming-transformers GumbelVQ, downsampling 8): images <-> image-token ids."""

from .checkpoint import VQGANCheckpointError, check_state_dict, load_vqgan, read_state_dict
from .configs import VQGAN_CONFIGS, get_vqgan_config
from .model import VQGAN, DDConfig, build_vqgan

__all__ = [
    "VQGAN",
    "VQGAN_CONFIGS",
    "DDConfig",
    "VQGANCheckpointError",
    "build_vqgan",
    "check_state_dict",
    "get_vqgan_config",
    "load_vqgan",
    "read_state_dict",
]
