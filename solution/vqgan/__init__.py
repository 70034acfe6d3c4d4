"""Sber-VQGAN (taming-transformers GumbelVQ, downsampling 8): images <-> image-token ids."""

from .checkpoint import VQGANCheckpointError, check_state_dict, load_vqgan, read_state_dict
from .configs import VQGAN_CONFIGS, get_vqgan_config
from .directory import VQGAN_FILES, VQGANConfigError, find_vqgan_file, resolve_vqgan_config, save_vqgan_dir
from .model import VQGAN, DDConfig, build_vqgan

__all__ = [
    "VQGAN",
    "VQGAN_CONFIGS",
    "VQGAN_FILES",
    "VQGANConfigError",
    "DDConfig",
    "VQGANCheckpointError",
    "build_vqgan",
    "check_state_dict",
    "find_vqgan_file",
    "get_vqgan_config",
    "load_vqgan",
    "read_state_dict",
    "resolve_vqgan_config",
    "save_vqgan_dir",
]
