"""Reading checkpoint files for every model: safetensors, or torch files loaded safely first.

A torch file is read with ``weights_only=True``; one that pickles other objects (a PyTorch
Lightning checkpoint with hyper-parameter objects) is then unpickled in full, with a warning: the
file is the user's own, load only files you trust.
"""

from __future__ import annotations

import json
import pickle
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


class CheckpointError(ValueError):
    """A checkpoint file holds no usable state dict."""


def read_json_object(path: str | Path, error: type[Exception] = ValueError) -> dict[str, Any]:
    """The JSON object of a config file beside a checkpoint; ``error`` names the file and the problem."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise error(f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object")
    return data


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


@dataclass(frozen=True)
class StateDictDiff:
    """How a checkpoint's state dict differs from a model's; each loader words its own error."""

    missing: list[str]  # model keys absent from the checkpoint, in the model's order
    unexpected: list[str]  # checkpoint keys the model does not have, in the checkpoint's order
    wrong_shape: list[tuple[str, tuple[int, ...], tuple[int, ...]]]  # (key, checkpoint shape, model shape)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.wrong_shape)


def compare_state_dict(expected: dict[str, torch.Tensor], state: dict[str, Any],
                       ignore: Collection[str] = ()) -> StateDictDiff:
    """Compare ``state`` with a model's ``expected`` state dict; keys in ``ignore`` (buffers the
    model rebuilds itself) may be absent or shaped differently."""
    return StateDictDiff(
        missing=[k for k in expected if k not in state and k not in ignore],
        unexpected=[k for k in state if k not in expected],
        wrong_shape=[(k, tuple(state[k].shape), tuple(v.shape)) for k, v in expected.items()
                     if k in state and k not in ignore and tuple(state[k].shape) != tuple(v.shape)],
    )
