"""Reading checkpoint files for every model: safetensors, or torch files loaded safely first.

A torch file is read with ``weights_only=True``; one that pickles other objects (a PyTorch
Lightning checkpoint with hyper-parameter objects) is then unpickled in full, with a warning: the
file is the user's own, load only files you trust.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import torch


class CheckpointError(ValueError):
    """A checkpoint file holds no usable state dict."""


def read_checkpoint_object(path: str | Path) -> Any:
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass
    warnings.warn(f"{path.name}: not a plain tensor checkpoint, loading it with full unpickling", stacklevel=3)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (ModuleNotFoundError, AttributeError) as e:
        raise CheckpointError(f"{path}: the checkpoint pickles objects whose code is not installed ({e}); "
                              "re-save its state dict as .safetensors or .pt with the tensors only") from e


def read_state_dict_file(path: str | Path, wrappers: tuple[str, ...], prefixes: tuple[str, ...],
                         what: str) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint: unwrapped from the first of ``wrappers`` found (e.g. Lightning's
    ``state_dict``), with a prefix shared by every key (e.g. ``model.``) stripped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} checkpoint not found: {path}")
    state = read_checkpoint_object(path)
    for wrapper in wrappers:
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: no state dict of tensors found")
    for prefix in prefixes:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state
