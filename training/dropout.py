"""Training-time dropout for a loaded RUDOLPH (published configs carry 0; the FBC2 fine-tuning used 0.1)."""

from __future__ import annotations

from torch import nn


def set_dropout(model: nn.Module, p: float) -> int:
    """Set the attention-probability and output dropouts of every layer to ``p``; returns how many were set.
    Inference is unaffected (dropout is off in eval mode) and the saved config keeps its own values."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    count = 0
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = p
            count += 1
        if hasattr(module, "attention_dropout"):
            module.attention_dropout = p
            count += 1
    return count
