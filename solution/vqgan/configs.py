"""Named VQGAN configurations.

A configuration is ``{"ddconfig": {...}, "n_embed": int, "embed_dim": int}``: the three arguments of
:func:`solution.vqgan.model.build_vqgan`, with ``ddconfig`` spelled as in taming-transformers' yaml
files (``model.params.ddconfig``), so a taming config can be pasted in unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

VQGAN_CONFIGS: dict[str, dict[str, Any]] = {
    # ruDALL-E's `vqgan.gumbelf8-sber.config.yml` (taming GumbelVQ, downsampling 8, 8192 codes).
    "sber-gumbelf8": {
        "ddconfig": {
            "double_z": False,
            "z_channels": 256,
            "resolution": 256,
            "in_channels": 3,
            "out_ch": 3,
            "ch": 128,
            "ch_mult": (1, 1, 2, 4),
            "num_res_blocks": 2,
            "attn_resolutions": (32,),
            "dropout": 0.0,
        },
        "n_embed": 8192,
        "embed_dim": 256,
    },
    # GumbelVQ feeds quant_conv's output (embed_dim channels) to quantize.proj, which taming sizes
    # for z_channels: the two must be equal.
    # For tests: the same structure in miniature (downsampling 4, attention at the lowest level, a
    # channel change so `nin_shortcut` exists). GroupNorm has 32 groups: channels must be multiples of 32.
    "tiny": {
        "ddconfig": {
            "double_z": False,
            "z_channels": 32,
            "resolution": 32,
            "in_channels": 3,
            "out_ch": 3,
            "ch": 32,
            "ch_mult": (1, 1, 2),
            "num_res_blocks": 1,
            "attn_resolutions": (8,),
            "dropout": 0.0,
        },
        "n_embed": 64,
        "embed_dim": 32,
    },
}


def get_vqgan_config(name: str) -> dict[str, Any]:
    """A deep copy of the named configuration."""
    if name not in VQGAN_CONFIGS:
        raise KeyError(f"unknown VQGAN config {name!r}; known: {sorted(VQGAN_CONFIGS)}")
    return copy.deepcopy(VQGAN_CONFIGS[name])
