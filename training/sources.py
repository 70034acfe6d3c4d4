"""Where the model, tokenizer and VQGAN of a training run come from.

Either a complete weights directory (``--weights DIR``: fine-tuning, e.g. RUDOLPH-2.7B-FBC2 or the demo
weights) or separate parts for training from scratch (``--config NAME --bpe FILE --vqgan FILE|DIR``):
a registry config or params JSON, a youtokentome BPE and a VQGAN checkpoint (a folder written by
``scripts/train_vqgan.py`` holds ``vqgan.safetensors`` and ``vqgan_config.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from solution.rudolph import CONFIGS, Rudolph, build_model, get_config
from solution.rudolph.tokenizer import Tokenizer
from solution.vqgan import VQGAN, get_vqgan_config, load_vqgan
from solution.weights import VQGAN_FILES, check_compatible, load_weights


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
        return self.model.config.image_tokens_per_dim * self.vqgan.downsample_factor


def config_name(params: dict) -> str:
    """The registry name of ``params`` if it is one, else its main sizes."""
    for name, known in CONFIGS.items():
        if get_config(known).to_params() == params:
            return name
    return f"{params['num_layers']}x{params['hidden_size']}"


VQGAN_CONFIG_DIR = Path(__file__).resolve().parent / "configs" / "vqgan"  # package data (demo32.json, ...)


def read_vqgan_config(value: str | Path | dict | None, vqgan_dir: Path | None) -> dict:
    if isinstance(value, dict):
        return value
    if value is None:
        if vqgan_dir is not None and (vqgan_dir / "vqgan_config.json").is_file():
            value = vqgan_dir / "vqgan_config.json"
        else:
            return get_vqgan_config("sber-gumbelf8")
    path = Path(value)
    if path.suffix == ".json" and path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        return get_vqgan_config(data["name"]) if "name" in data else data
    return get_vqgan_config(str(value))


def find_vqgan_file(path: Path) -> Path:
    if path.is_file():
        return path
    for name in VQGAN_FILES:
        if (path / name).is_file():
            return path / name
    raise FileNotFoundError(f"no VQGAN checkpoint ({' | '.join(VQGAN_FILES)}) in {path}")


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
