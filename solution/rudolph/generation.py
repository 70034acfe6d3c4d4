"""Decoding with RUDOLPH: image tokens, right text, and scoring of given right texts.

Every loop is written once over a ``Decoder`` that either keeps a static KV cache (each step
computes only the new token and only the last position's logits) or recomputes the whole prefix
(the reference behaviour, kept for tests and benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .model import Rudolph

EOS_ID = 3


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


def sample_next(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator | None = None) -> torch.Tensor:
    """One id per row of ``logits`` (b, V): temperature, then top-k, then top-p (nucleus)."""
    if sampling.greedy:
        return logits.argmax(dim=-1)
    logits = logits.float() / sampling.temperature
    if 0 < sampling.top_k < logits.shape[-1]:
        kth = logits.topk(sampling.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if sampling.top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        # Drop a token when the tokens before it already reach top_p (the first one always stays).
        drop = probs.cumsum(dim=-1) - probs > sampling.top_p
        logits = logits.scatter(-1, order, sorted_logits.masked_fill(drop, float("-inf")))
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class Decoder:
    """Feeds a growing sequence to the model and returns next-token logits."""

    def __init__(self, model: Rudolph, use_cache: bool = True):
        self.model, self.use_cache = model, use_cache
        self.cache = None
        self.ids: torch.Tensor | None = None

    def start(self, prefix: torch.Tensor) -> torch.Tensor:
        """Logits ``(b, V)`` after the prefix ``(b, n)``, which starts at position 0."""
        if self.use_cache:
            self.cache = self.model.new_cache(prefix.shape[0])
            return self.model(prefix, self.cache, last_only=True)[:, -1]
        self.ids = prefix
        return self.model(prefix)[:, -1]

    def push(self, tokens: torch.Tensor) -> torch.Tensor:
        """Append one token per row ``(b,)`` and return the next logits."""
        if self.use_cache:
            return self.model(tokens[:, None], self.cache, last_only=True)[:, -1]
        self.ids = torch.cat([self.ids, tokens[:, None]], dim=1)
        return self.model(self.ids)[:, -1]


@torch.no_grad()
def generate_image_tokens(model: Rudolph, left_ids: torch.Tensor, sampling: Sampling = BASELINE_IMAGE_SAMPLING,
                          generator: torch.Generator | None = None, use_cache: bool = True,
                          progress=None) -> torch.Tensor:
    """``(b, m*m)`` image ids (0..image_vocab_size-1) generated after the left text ``(b, l)``.

    Image special tokens are never sampled. ``progress`` is an optional callable(step) per token.
    """
    c = model.config
    lo, hi = c.text_vocab, c.text_vocab + c.image_vocab_size
    decoder = Decoder(model, use_cache)
    logits = decoder.start(left_ids)
    tokens = []
    for step in range(c.image_seq_length):
        token = sample_next(logits[:, lo:hi], sampling, generator)
        tokens.append(token)
        if progress is not None:
            progress(step)
        if step < c.image_seq_length - 1:
            logits = decoder.push(token)
    return torch.stack(tokens, dim=1)


@torch.no_grad()
def generate_right_text(model: Rudolph, left_ids: torch.Tensor, image_ids: torch.Tensor, right_prefix: torch.Tensor,
                        sampling: Sampling = GREEDY, max_new_tokens: int | None = None,
                        generator: torch.Generator | None = None, use_cache: bool = True) -> list[list[int]]:
    """Right-text ids generated after ``[left | image | right_prefix]``, cut before the first eos.

    ``right_prefix`` is ``(b, k)``, usually ``[bos, <RT_UNK>]``. Generation stops as soon as every
    row has produced eos; a sampled pad-position id (``>= V_text - l``) counts as eos.
    """
    c = model.config
    room = c.r_text_seq_length - right_prefix.shape[1]
    max_new_tokens = room if max_new_tokens is None else min(max_new_tokens, room)
    eos_from = c.text_vocab - c.l_text_seq_length
    decoder = Decoder(model, use_cache)
    logits = decoder.start(torch.cat([left_ids, image_ids, right_prefix], dim=1))
    b = left_ids.shape[0]
    finished = torch.zeros(b, dtype=torch.bool, device=left_ids.device)
    out: list[list[int]] = [[] for _ in range(b)]
    for step in range(max_new_tokens):
        token = sample_next(logits[:, :c.text_vocab], sampling, generator)
        is_eos = (token == EOS_ID) | (token >= eos_from)
        for row in (~finished & ~is_eos).nonzero().flatten().tolist():
            out[row].append(int(token[row]))
        finished |= is_eos
        if bool(finished.all()) or step == max_new_tokens - 1:
            break
        logits = decoder.push(torch.where(finished, torch.full_like(token, EOS_ID), token))
    return out


@torch.no_grad()
def score_right_texts(model: Rudolph, left_ids: torch.Tensor, image_ids: torch.Tensor, right_ids: torch.Tensor,
                      owner: torch.Tensor, skip: int = 2, use_cache: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-likelihood of candidate right texts.

    ``left_ids (b, l)`` and ``image_ids (b, m*m)`` are the samples; ``right_ids (n, r)`` are
    candidates, each encoded like a right text (``[bos, <RT_UNK>, ..., eos, pad...]``) and
    belonging to sample ``owner[j]``. The first ``skip`` tokens (bos and the special token, the
    same for every candidate) are given, not scored; pads are not scored. Returns the summed
    log-probability ``(n,)`` and the number of scored tokens ``(n,)``; each sample's prefix is
    computed once and its cache branched per candidate.
    """
    c = model.config
    prefix = torch.cat([left_ids, image_ids], dim=1)
    if use_cache:
        cache = model.new_cache(prefix.shape[0])
        last = model(prefix, cache, last_only=True)[:, -1]
        logits = model(right_ids, cache.select(owner))
        # Position p predicts token p + 1: the last prefix position predicts right token 0.
        logits = torch.cat([last.index_select(0, owner)[:, None], logits[:, :-1]], dim=1)
    else:
        full = torch.cat([prefix.index_select(0, owner), right_ids], dim=1)
        logits = model(full)[:, prefix.shape[1] - 1:-1]
    logp = F.log_softmax(logits[..., :c.text_vocab].float(), dim=-1)
    token_logp = logp.gather(-1, right_ids[..., None]).squeeze(-1)
    scored = right_ids != 0
    scored[:, :skip] = False
    return (token_logp * scored).sum(dim=1), scored.sum(dim=1)
