"""Layer freezing: named parameter groups of RUDOLPH that can be kept fixed during fine-tuning.

``--freeze embeddings attention`` freezes every parameter of those groups; ``--freeze-first-layers
N`` freezes transformer layers 0..N-1 entirely. The organisers' FBC2 trainer offered the same groups
(``freeze_emb``, ``freeze_attn``, ``freeze_ff``, ``freeze_ln``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from torch import nn

_LAYER = re.compile(r"^transformer\.layers\.(\d+)\.")

# group name -> predicate on the parameter name (state-dict naming of spec section 5)
FREEZE_GROUPS: dict[str, Callable[[str], bool]] = {
    "embeddings": lambda n: n.split(".")[0].endswith("embeddings"),
    "attention": lambda n: ".attention." in n,
    "mlp": lambda n: ".mlp." in n,
    "layernorm": lambda n: "layernorm" in n or n.startswith("to_logits.0."),
    "head": lambda n: n.startswith("to_logits.1."),
}


def layer_index(name: str) -> int | None:
    match = _LAYER.match(name)
    return int(match.group(1)) if match else None


def apply_freezing(model: nn.Module, groups: list[str] = (), first_layers: int = 0) -> dict[str, int]:
    """Set ``requires_grad=False`` on the chosen parameters; returns counts of frozen/trainable values."""
    unknown = [g for g in groups if g not in FREEZE_GROUPS]
    if unknown:
        raise ValueError(f"unknown freeze group(s) {unknown}; known: {sorted(FREEZE_GROUPS)}")
    num_layers = getattr(getattr(model, "config", None), "num_layers", None)
    if first_layers < 0 or (num_layers is not None and first_layers > num_layers):
        raise ValueError(f"--freeze-first-layers must be in [0, {num_layers}], got {first_layers}")
    frozen = trainable = 0
    for name, p in model.named_parameters():
        index = layer_index(name)
        freeze = any(FREEZE_GROUPS[g](name) for g in groups) or (index is not None and index < first_layers)
        p.requires_grad_(not freeze)
        if freeze:
            frozen += p.numel()
        else:
            trainable += p.numel()
    if trainable == 0:
        raise ValueError("every parameter is frozen: nothing to train")
    return {"frozen": frozen, "trainable": trainable}
