"""Reading and writing RUDOLPH weights: ``.bin``/``.pt`` state dicts, PyTorch Lightning ``.ckpt``
(keys under ``state_dict`` prefixed ``model.``), DeepSpeed/DDP wrappers (``module``), safetensors.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..checkpoint_files import compare_state_dict, read_state_dict_file
from .config import RudolphConfig, get_config
from .masks import MASK_KINDS
from .model import Rudolph

_WRAPPER_PREFIXES = ("model.", "module.", "_forward_module.model.")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The model state dict inside a checkpoint file, unwrapped and with prefixes stripped."""
    return read_state_dict_file(path, wrappers=("state_dict", "module", "model"), prefixes=_WRAPPER_PREFIXES,
                                what="RUDOLPH")


def load_state_dict(model: Rudolph, state: dict[str, torch.Tensor], assign: bool = False) -> None:
    """Strict loading with one clear error listing missing, unexpected and mis-shaped keys."""
    diff = compare_state_dict(model.state_dict(), state, ignore={f"transformer.{k}" for k in MASK_KINDS})
    missing, unexpected = sorted(diff.missing), sorted(diff.unexpected)
    shapes = sorted(f"{k}: checkpoint {ours} vs model {theirs}" for k, ours, theirs in diff.wrong_shape)
    if diff:
        lines = ["checkpoint does not match the RUDOLPH config:"]
        for title, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
            if keys:
                lines.append(f"  {title} ({len(keys)}): " + ", ".join(keys[:12]) + (" ..." if len(keys) > 12 else ""))
        raise ValueError("\n".join(lines))
    model.load_state_dict(state, strict=True, assign=assign)


def load_model(checkpoint: str | Path, config: str | dict | RudolphConfig, device: str | torch.device = "cpu",
               dtype: torch.dtype | None = None) -> Rudolph:
    """Build the model without random init (meta device), load the weights, move to device/dtype."""
    config = get_config(config)
    state = read_state_dict(checkpoint)
    with torch.device("meta"):
        model = Rudolph(config)
    load_state_dict(model, state, assign=True)
    model = model.to(device=device, dtype=dtype) if dtype is not None else model.to(device=device)
    return model.eval()


def save_model(model: Rudolph, path: str | Path) -> Path:
    """Save the state dict (safetensors for ``.safetensors``, torch.save otherwise) and ``config.json`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    (path.parent / "config.json").write_text(json.dumps(model.config.to_params(), indent=2), encoding="utf-8")
    return path
