"""Where the model, tokenizer and VQGAN of a training run come from.

Either a complete weights directory (``--weights DIR``: fine-tuning, e.g. RUDOLPH-2.7B-FBC2 or the demo
weights) or separate parts for training from scratch (``--config NAME --bpe FILE --vqgan FILE|DIR``):
a registry config or params JSON, a youtokentome BPE and a VQGAN checkpoint (a folder written by
``scripts/train_vqgan.py`` holds ``vqgan.safetensors`` and ``vqgan_config.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from solution.rudolph import CONFIGS, Rudolph, build_model, get_config
from solution.rudolph.tokenizer import Tokenizer
from solution.vqgan import VQGAN, find_vqgan_file, load_vqgan, resolve_vqgan_config
from solution.weights import check_compatible, load_weights


@dataclass
class Sources:
    model: Rudolph
    tokenizer: Tokenizer
    vqgan: VQGAN
    bpe_path: Path
    vqgan_config: dict
    name: str  # a short model description for logs and eco2AI

    @property
    def image_size(self) -> int:
        return self.vqgan.image_size(self.model.config.image_tokens_per_dim)


def config_name(params: dict) -> str:
    """The registry name of ``params`` if it is one, else its main sizes."""
    for name, known in CONFIGS.items():
        if get_config(known).to_params() == params:
            return name
    return f"{params['num_layers']}x{params['hidden_size']}"


VQGAN_CONFIG_DIR = Path(__file__).resolve().parent / "configs" / "vqgan"  # package data (demo32.json, ...)


def read_vqgan_config(value: str | Path | dict | None, vqgan_dir: Path | None) -> dict:
    return resolve_vqgan_config(value, vqgan_dir)  # the rules live in solution.vqgan.directory


def load_sources(weights: Path | None = None, config: str | None = None, bpe: Path | None = None,
                 vqgan: Path | None = None, vqgan_config: str | None = None, seed: int = 0) -> Sources:
    if weights is not None:
        if config is not None or bpe is not None or vqgan is not None:
            raise ValueError("give either --weights or --config/--bpe/--vqgan, not both")
        w = load_weights(weights, device="cpu")
        model = w.model.float()
        return Sources(model, w.tokenizer, w.vqgan, w.paths.bpe, w.paths.vqgan_config,
                       config_name(model.config.to_params()))
    missing = [flag for flag, value in (("--config", config), ("--bpe", bpe), ("--vqgan", vqgan)) if value is None]
    if missing:
        raise ValueError(f"training from scratch needs {', '.join(missing)} (or pass --weights DIR)")
    vqgan = Path(vqgan)
    vq_config = read_vqgan_config(vqgan_config, vqgan if vqgan.is_dir() else None)
    vq = load_vqgan(find_vqgan_file(vqgan), vq_config)
    tokenizer = Tokenizer(bpe)
    torch.manual_seed(seed)
    model = build_model(get_config(config))
    check_compatible(model, tokenizer, vq, Path(bpe).parent)
    return Sources(model, tokenizer, vq, Path(bpe), vq_config, config_name(model.config.to_params()))
