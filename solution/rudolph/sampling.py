"""Choosing the next token: greedy, or top-k / top-p followed by Gumbel-max with counter-based noise.

A sampled token is ``argmax(logit / temperature + g)`` over the tokens the filters keep, where the
Gumbel noise ``g = -log(-log u)`` of row ``r`` at step ``t`` for token ``j`` is a hash of
``(seeds[r], t, j)``. That is a draw from ``softmax(logit / temperature)`` restricted to the kept
tokens, and it depends on nothing else: not on which rows share the batch, not on the batch shrinking,
not on a resumed run. Nothing here reads a device value on the host, so sampling never waits for the
GPU (and can sit inside a CUDA graph).

``row_seed(run_seed, phase, sample_id)`` gives each sample of each phase its own stream.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class Sampling:
    """top_k = 1 (or temperature 0) is greedy; top_k = 0 and top_p = 1 disable the filters."""

    top_k: int = 0
    top_p: float = 1.0
    temperature: float = 1.0

    @property
    def greedy(self) -> bool:
        return self.top_k == 1 or self.temperature == 0


GREEDY = Sampling(top_k=1)
BASELINE_IMAGE_SAMPLING = Sampling(top_k=1024, top_p=0.975, temperature=1.0)
BASELINE_TEXT_SAMPLING = Sampling(top_k=32, top_p=0.8, temperature=1.0)


def row_seed(run_seed: int, phase: str, sample_id: str) -> int:
    """The 62-bit seed of one sample in one phase of a run (BLAKE2b of the three; any id, lone
    surrogates included)."""
    data = "\x00".join((str(run_seed), phase, sample_id)).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") >> 2


def mix32(x):
    """A 32-bit integer hash (``lowbias32``) of a Python int or an int64 tensor holding values below 2**32.
    Both multipliers are below 2**31, so no int64 product overflows."""
    x = x ^ (x >> 16)
    x = (x * 0x21F0AAAD) & MASK32
    x = x ^ (x >> 15)
    x = (x * 0x735A2D97) & MASK32
    return x ^ (x >> 15)


def uniform_noise(seeds: torch.Tensor, step: int, index: torch.Tensor) -> torch.Tensor:
    """``(b, n)`` float32 uniforms in (0, 1): the noise of row seeds ``seeds (b,)`` at ``step`` for the
    token ids ``index (b, n)``; each value a function of (seed, step, token id) alone."""
    key = mix32((seeds & MASK32) ^ mix32(((seeds >> 32) & MASK32) ^ 0x9E3779B9))  # (b,)
    key = mix32(key ^ mix32((step & MASK32) ^ 0x85EBCA6B))
    bits = mix32(key[:, None] ^ mix32(index))
    return ((bits >> 8).float() + 0.5) / 2**24


def gumbel_noise(seeds: torch.Tensor, step: int, index: torch.Tensor) -> torch.Tensor:
    return -torch.log(-torch.log(uniform_noise(seeds, step, index)))


def sample_next(logits: torch.Tensor, sampling: Sampling, seeds: torch.Tensor | None = None,
                step: int = 0) -> torch.Tensor:
    """One id per row of ``logits (b, V)``: the argmax when greedy (``seeds`` ignored), else temperature,
    top-k, top-p (nucleus), then Gumbel-max with the noise of ``seeds (b,)`` (int64 row seeds) at ``step``."""
    if sampling.greedy:
        return logits.argmax(dim=-1)
    if seeds is None:
        raise ValueError("sampled decoding needs seeds: a (b,) int64 tensor of row seeds (see row_seed)")
    logits = logits.float() / sampling.temperature
    vocab = logits.shape[-1]
    if 0 < sampling.top_k < vocab:
        values, index = logits.topk(sampling.top_k, dim=-1)  # sorted, largest first
    elif sampling.top_p < 1.0:
        values, index = logits.sort(dim=-1, descending=True)
    else:
        values, index = logits, torch.arange(vocab, device=logits.device).expand_as(logits)
    if sampling.top_p < 1.0:
        probs = values.softmax(dim=-1)
        # Drop a token when the tokens before it already reach top_p (the first one always stays).
        values = values.masked_fill(probs.cumsum(dim=-1) - probs > sampling.top_p, float("-inf"))
    choice = (values + gumbel_noise(seeds, step, index)).argmax(dim=-1, keepdim=True)
    return index.gather(-1, choice).squeeze(-1)
