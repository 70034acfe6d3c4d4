"""The weights directory: everything ``run.py`` needs to answer, in one documented layout.

```
WEIGHTS/
  config.json        RUDOLPH params (official names), or {"name": "2.7B-FBC2"}
  <checkpoint>       rudolph.safetensors | pytorch_model.bin | rudolph.bin | rudolph.pt | model.safetensors
                     | one *.ckpt (PyTorch Lightning)
  bpe.model          the youtokentome BPE of ruDALL-E/RUDOLPH
  <vqgan>            vqgan.gumbelf8-sber.model.ckpt | vqgan.safetensors | vqgan.ckpt | vqgan.pt
  vqgan_config.json  optional: {"name": "sber-gumbelf8"} or {"ddconfig": ..., "n_embed": ..., "embed_dim": ...};
                     the Sber config when absent
```

The published files keep their original names: put ``pytorch_model.bin`` of RUDOLPH-2.7B-FBC2,
``bpe.model`` and ``vqgan.gumbelf8-sber.model.ckpt`` in one folder and add
``config.json`` = ``{"name": "2.7B-FBC2"}``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint_files import read_json_object
from .rudolph import Rudolph, get_config, load_model, save_model
from .rudolph.bpe import BPEModelError
from .rudolph.tokenizer import Tokenizer
from .vqgan import VQGAN, VQGAN_FILES, VQGANConfigError, load_vqgan, resolve_vqgan_config, save_vqgan_dir

RUDOLPH_FILES = ("rudolph.safetensors", "pytorch_model.bin", "rudolph.bin", "rudolph.pt", "model.safetensors")


class WeightsError(RuntimeError):
    """The weights directory is missing a file or holds one that cannot be used."""


@dataclass(frozen=True)
class WeightsPaths:
    root: Path
    rudolph: Path
    rudolph_config: dict
    bpe: Path
    vqgan: Path
    vqgan_config: dict


@dataclass
class Weights:
    model: Rudolph
    tokenizer: Tokenizer
    vqgan: VQGAN
    paths: WeightsPaths

    @property
    def image_size(self) -> int:
        return self.vqgan.image_size(self.model.config.image_tokens_per_dim)


def _read_json(path: Path) -> dict:
    return read_json_object(path, WeightsError)


def _first_existing(root: Path, names: tuple[str, ...], pattern: str | None = None) -> Path | None:
    for name in names:
        if (root / name).is_file():
            return root / name
    if pattern:
        found = sorted(root.glob(pattern))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise WeightsError(f"{root}: several {pattern} files ({', '.join(p.name for p in found)}); keep one")
    return None


def resolve_weights(root: str | Path) -> WeightsPaths:
    """Find every file of the layout above, or one error naming everything that is missing."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise WeightsError(f"{root} is a file, not a weights folder: pass the folder that holds config.json, "
                           "bpe.model and the checkpoints")
    if not root.is_dir():
        raise WeightsError(f"weights directory not found: {root}")
    problems = []
    rudolph = _first_existing(root, RUDOLPH_FILES, "*.ckpt")
    if rudolph is None:
        problems.append(f"a RUDOLPH checkpoint ({' | '.join(RUDOLPH_FILES)} | one *.ckpt)")
    rudolph_config = None
    if (root / "config.json").is_file():
        data = _read_json(root / "config.json")
        rudolph_config = get_config(data["name"]).to_params() if "name" in data else get_config(data).to_params()
    else:
        problems.append('config.json (RUDOLPH params, or {"name": "2.7B-FBC2"})')
    bpe = root / "bpe.model"
    if not bpe.is_file():
        problems.append("bpe.model (the youtokentome BPE of RUDOLPH)")
    vqgan = _first_existing(root, VQGAN_FILES)
    if vqgan is None:
        problems.append(f"a VQGAN checkpoint ({' | '.join(VQGAN_FILES)})")
    try:
        vqgan_config = resolve_vqgan_config(None, root)
    except VQGANConfigError as e:
        raise WeightsError(str(e)) from None
    if problems:
        raise WeightsError(f"{root} is missing: " + "; ".join(problems))
    return WeightsPaths(root, rudolph, rudolph_config, bpe, vqgan, vqgan_config)


def load_weights(root: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype | None = None) -> Weights:
    """Model, tokenizer and VQGAN of a weights directory, on ``device`` (VQGAN kept in fp32 on CPU)."""
    paths = resolve_weights(root)
    model = load_model(paths.rudolph, paths.rudolph_config, device=device, dtype=dtype)
    try:
        tokenizer = Tokenizer(paths.bpe)
    except BPEModelError as e:  # a damaged bpe.model is the weights' problem: one clear line, no traceback
        raise WeightsError(str(e)) from None
    vqgan_dtype = dtype if dtype is not None and torch.device(device).type == "cuda" else torch.float32
    vqgan = load_vqgan(paths.vqgan, paths.vqgan_config, device=device, dtype=vqgan_dtype)
    check_compatible(model, tokenizer, vqgan, paths.root)
    return Weights(model, tokenizer, vqgan, paths)


def check_compatible(model: Rudolph, tokenizer: Tokenizer, vqgan: VQGAN, root: Path) -> None:
    c = model.config
    needed = tokenizer.bpe_vocab_size + len(tokenizer.special_ids)
    if needed > c.text_vocab:
        raise WeightsError(f"{root}: bpe.model has {tokenizer.bpe_vocab_size} tokens plus {len(tokenizer.special_ids)} "
                           f"task tokens, more than the model's text vocabulary {c.text_vocab}")
    if vqgan.n_embed != c.image_vocab_size:
        raise WeightsError(f"{root}: the VQGAN has {vqgan.n_embed} codes but the model expects image_vocab_size "
                           f"{c.image_vocab_size}")


def write_weights_dir(out_dir: str | Path, model: Rudolph, bpe_path: str | Path, vqgan: VQGAN,
                      vqgan_config: dict) -> Path:
    """Write a complete weights directory (safetensors for both models)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_model(model, out_dir / "rudolph.safetensors")  # also writes config.json
    if Path(bpe_path).resolve() != (out_dir / "bpe.model").resolve():
        shutil.copyfile(bpe_path, out_dir / "bpe.model")
    save_vqgan_dir(vqgan, vqgan_config, out_dir)
    return out_dir
