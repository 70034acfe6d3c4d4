"""A VQGAN on disk: which checkpoint file a folder holds, which configuration it uses, and writing both.

The one owner of these names; the weights directory (``solution.weights``), training sources and
``scripts/train_vqgan.py`` all go through it.

```
FOLDER/
  <checkpoint>       vqgan.gumbelf8-sber.model.ckpt | vqgan.safetensors | vqgan.ckpt | vqgan.pt
  vqgan_config.json  optional: {"name": "sber-gumbelf8"} or {"ddconfig": ..., "n_embed": ..., "embed_dim": ...};
                     the Sber config when absent
```
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..checkpoint_files import read_json_object
from .configs import get_vqgan_config
from .model import VQGAN

VQGAN_FILES = ("vqgan.gumbelf8-sber.model.ckpt", "vqgan.safetensors", "vqgan.ckpt", "vqgan.pt")
CONFIG_FILE = "vqgan_config.json"
SAVED_FILE = "vqgan.safetensors"  # what save_vqgan_dir writes
DEFAULT_VQGAN_CONFIG = "sber-gumbelf8"


class VQGANConfigError(ValueError):
    """A VQGAN configuration file that cannot be read."""


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A configuration from a JSON file: ``{"name": ...}`` or the full dict."""
    data = read_json_object(path, VQGANConfigError)
    return get_vqgan_config(data["name"]) if "name" in data else data


def resolve_vqgan_config(value: str | Path | dict | None = None, folder: str | Path | None = None) -> dict[str, Any]:
    """The configuration meant by ``value``: a dict as it is, a JSON file, a registry name; with no
    value, ``folder``'s ``vqgan_config.json`` if there is one, else the Sber config."""
    if isinstance(value, dict):
        return value
    if value is None:
        if folder is None or not (Path(folder) / CONFIG_FILE).is_file():
            return get_vqgan_config(DEFAULT_VQGAN_CONFIG)
        value = Path(folder) / CONFIG_FILE
    path = Path(value)
    if path.suffix == ".json" and path.is_file():
        return read_config_file(path)
    return get_vqgan_config(str(value))


def find_vqgan_file(path: str | Path) -> Path:
    """``path`` itself when it is a file, else the first of ``VQGAN_FILES`` inside the folder."""
    path = Path(path)
    if path.is_file():
        return path
    for name in VQGAN_FILES:
        if (path / name).is_file():
            return path / name
    raise FileNotFoundError(f"no VQGAN checkpoint ({' | '.join(VQGAN_FILES)}) in {path}")


def save_vqgan_dir(vqgan: VQGAN, config: dict[str, Any], out_dir: str | Path) -> Path:
    """Write ``vqgan.safetensors`` and ``vqgan_config.json`` (tuples as lists) into ``out_dir``."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in vqgan.state_dict().items()}, str(out_dir / SAVED_FILE))
    plain = {**config, "ddconfig": {k: list(v) if isinstance(v, tuple) else v for k, v in config["ddconfig"].items()}}
    (out_dir / CONFIG_FILE).write_text(json.dumps(plain, indent=2), encoding="utf-8")
    return out_dir
