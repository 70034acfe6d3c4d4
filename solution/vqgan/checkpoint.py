"""Loading VQGAN weights: the Sber Lightning checkpoint, plain state dicts and safetensors."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ..checkpoint_files import CheckpointError, compare_state_dict, read_state_dict_file
from .configs import get_vqgan_config
from .model import VQGAN, build_vqgan

# Entries of a taming training checkpoint that are not part of the autoencoder (the perceptual loss
# and discriminator weights). They are dropped without a word.
NON_MODEL_PREFIXES = ("loss.",)


class VQGANCheckpointError(RuntimeError):
    """The checkpoint does not fit the VQGAN configuration (missing keys or wrong shapes)."""


# Wrappers around the GumbelVQ keys: ruDALL-E's VQGanGumbelVAE holds the GumbelVQ as `model`.
WRAPPER_PREFIXES = ("model.",)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file: a Lightning ``{"state_dict": {...}}`` is unwrapped and a
    prefix shared by every key (``model.``) is stripped."""
    try:
        return read_state_dict_file(path, wrappers=("state_dict",), prefixes=WRAPPER_PREFIXES, what="VQGAN")
    except CheckpointError as e:
        raise VQGANCheckpointError(str(e)) from e


def _listing(keys) -> str:
    return "".join(f"\n    {k}" for k in sorted(keys))


def check_state_dict(model: VQGAN, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's entries of ``state_dict``; raises :class:`VQGANCheckpointError` naming every
    missing or wrongly shaped key. Non-model (``loss.*``) entries are dropped, other unknown
    entries are dropped with a warning."""
    expected = model.state_dict()
    state_dict = {k: v for k, v in state_dict.items() if not k.startswith(NON_MODEL_PREFIXES)}
    diff = compare_state_dict(expected, state_dict)
    missing, unexpected = diff.missing, diff.unexpected
    wrong_shape = [f"{k}: checkpoint {ours}, model {theirs}" for k, ours, theirs in diff.wrong_shape]
    if missing or wrong_shape:
        message = "VQGAN checkpoint does not match the configuration."
        if missing:
            message += f"\n  {len(missing)} missing key(s):{_listing(missing)}"
        if wrong_shape:
            message += f"\n  {len(wrong_shape)} key(s) with the wrong shape:{_listing(wrong_shape)}"
        if unexpected:
            message += f"\n  {len(unexpected)} unexpected key(s):{_listing(unexpected)}"
        raise VQGANCheckpointError(message)
    if unexpected:
        warnings.warn(f"ignoring {len(unexpected)} unexpected VQGAN checkpoint key(s):{_listing(unexpected)}",
                      stacklevel=3)
    return {k: state_dict[k] for k in expected}


def load_vqgan(
    checkpoint_path: str | Path,
    config: str | dict = "sber-gumbelf8",
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> VQGAN:
    """A VQGAN in eval mode with the weights of ``checkpoint_path``.

    ``config``: a name in ``VQGAN_CONFIGS`` or a dict
    ``{"ddconfig": ..., "n_embed": ..., "embed_dim": ...}``. The file may be the Sber Lightning
    checkpoint (``{"state_dict": ...}`` with ``loss.*`` extras), a plain state dict (``.pt``/``.bin``)
    or ``.safetensors``. Torch files are read with ``weights_only=True`` first; one that pickles other
    objects (Lightning hyper-parameters) is then unpickled in full, with a warning: load only files
    you trust.
    """
    if isinstance(config, str):
        config = get_vqgan_config(config)
    state_dict = read_state_dict(checkpoint_path)
    # Build without allocating random weights, then adopt the checkpoint's tensors.
    with torch.device("meta"):
        model = build_vqgan(config["ddconfig"], config["n_embed"], config["embed_dim"])
    model.load_state_dict(check_state_dict(model, state_dict), strict=True, assign=True)
    return model.to(device=device, dtype=dtype).eval()
