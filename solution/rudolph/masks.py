"""RUDOLPH's sparse attention masks: the only place that decides who may attend to whom.

Every mask is the causal lower triangle over the whole sequence ``l + m*m + r``; only pairs of an
image query and an image key are thinned, according to the layer's kind (spec section 4). A mask is
a boolean ``(S, S)`` tensor, True = visible, indexed ``[query, key]``. The model keeps one mask per
kind and slices the rows it needs for the positions being computed.
"""

from __future__ import annotations

import functools

import torch

from .config import RudolphConfig

MASK_KINDS = ("row_mask", "col_mask", "conv_mask", "last_conv_mask")


def layer_mask_kind(layer: int, num_layers: int) -> str:
    """The mask kind of 0-based layer ``layer``: row, col, row, conv, ..., the last one last_conv."""
    if (layer - 1) % 4 == 0:
        return "col_mask"
    if layer == num_layers - 1:
        return "last_conv_mask"
    if (layer - 3) % 4 == 0:
        return "conv_mask"
    return "row_mask"


def _image_grid(m: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Row and column of every image cell, and the query-minus-key offset of every image pair."""
    idx = torch.arange(m * m, device="cpu")
    offset = idx[:, None] - idx[None, :]
    return idx // m, idx % m, offset


def image_visibility(kind: str, m: int, kernel_size: int, last_kernel_size: int) -> torch.Tensor:
    """``(m*m, m*m)`` bool: which image keys an image query sees (before the causal cut)."""
    rows, cols, offset = _image_grid(m)
    if kind == "row_mask":
        return offset <= m
    if kind == "col_mask":
        return offset % m == 0
    if kind in ("conv_mask", "last_conv_mask"):
        half = (kernel_size if kind == "conv_mask" else last_kernel_size) // 2
        # A window of cells centred on the query, clamped at the border: clamped cells repeat
        # cells already inside the window, so the visible set is simply |dr|, |dc| <= half.
        near_row = (rows[:, None] - rows[None, :]).abs() <= half
        near_col = (cols[:, None] - cols[None, :]).abs() <= half
        return near_row & near_col
    raise ValueError(f"unknown mask kind {kind!r}; expected one of {MASK_KINDS}")


def build_mask(kind: str, config: RudolphConfig, device: torch.device | str | None = None) -> torch.Tensor:
    """The full ``(S, S)`` boolean mask of one kind, on ``device`` (default: the default device, so that a
    model built under ``with torch.device(...)`` keeps its masks there)."""
    device = torch.get_default_device() if device is None else device
    size = config.seq_length
    start, end = config.parts["image"]
    mask = torch.ones(size, size, dtype=torch.bool, device=device).tril()
    image = image_visibility(kind, config.image_tokens_per_dim, config.kernel_size, config.last_kernel_size)
    mask[start:end, start:end] &= image.to(device)
    return mask


@functools.lru_cache(maxsize=4096)  # host numbers per (kind, config, bucket): computed once, at the first step
def key_ranges(kind: str, config: RudolphConfig, queries: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """The cache ranges a layer of mask ``kind`` must read so that queries anywhere in positions
    ``queries = [lo, hi)`` see every key their mask lets them see: ``((0, hi),)``, or, when none of these
    queries sees the first image keys (an image query under a row or conv mask sees the left text and
    a window of the image rows just above it), the left text and the window: ``((0, image_start),
    (first_seen, hi))``. Read from the mask itself, so it holds for any kind and config."""
    lo, hi = queries
    if not 0 <= lo < hi <= config.seq_length:
        raise ValueError(f"queries [{lo}, {hi}) are outside the sequence of {config.seq_length}")
    image_start = config.parts["image"][0]
    if hi <= image_start:
        return ((0, hi),)
    seen = build_mask(kind, config, "cpu")[lo:hi, image_start:hi].any(dim=0).nonzero()
    first_seen = image_start + int(seen[0]) if len(seen) else hi
    return ((0, hi),) if first_seen == image_start else ((0, image_start), (first_seen, hi))
