"""Self-reranking: which of a sample's candidates (images, answers) to keep, from the model's own scores.

**Images** (``--image-candidates N``), as ru-dolph's ``self_reranking_by_text`` ranks the codebooks of
``dream``: each candidate image has two perplexities, ``exp(-mean log p)`` over its scored tokens,

- the caption's as right text after ``[empty left text | image]`` (ru-dolph scores the caption after
  an empty left template; so are the demo's captioning samples made, and a right text after the
  caption itself as left text could copy it instead of reading the image), and
- the image's own, its tokens after ``[left text | image tokens before]`` (what generation sampled
  from);

each is normalised over the sample's candidates as ``(ppl - min) / (median - min)`` (ru-dolph's
``q = 0.5`` quantile), the two summed with weights 0.95 (caption) and 0.05 (image), and the lowest
sum wins. ru-dolph's own perplexity is the mean of ``exp(cross-entropy)`` over tokens; here it is the
exponential of the mean cross-entropy, what the scoring functions give (summed log-probability and
token count). ru-dolph also leaves the first image token unscored; here every image token is.

**Answers** (``--answer-candidates N``): the highest mean log-likelihood of the answer tokens (and
eos) after ``[left text | image block]``.

Ties go to the earliest candidate: candidate 0 is the sample's image or answer as with N = 1.
"""

from __future__ import annotations

import torch

CAPTION_WEIGHT = 0.95  # ru-dolph's ppl_txt_w for dream's self_reranking_by_text; the image gets 1 - it
QUANTILE = 0.5  # ru-dolph's q: the normalising quantile of each perplexity over a sample's candidates


def check_candidates(name: str, value) -> int:
    """``value`` when it is a whole number >= 1 (``bool`` is not), else a one-line ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1 (1: no self-reranking); got {value!r}")
    return value


def perplexity(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """``exp(-total / count)``: the perplexity of summed log-probabilities over ``count`` tokens."""
    return torch.exp(-total.float() / count.clamp(min=1).float())


def normalised(ppl: torch.Tensor) -> torch.Tensor:
    """``(ppl - min) / (quantile - min)`` over the last dimension (a sample's candidates); where the
    quantile equals the minimum the differences are left as they are."""
    low = ppl.amin(dim=-1, keepdim=True)
    spread = ppl.quantile(QUANTILE, dim=-1, keepdim=True) - low
    return (ppl - low) / torch.where(spread > 0, spread, torch.ones_like(spread))


def image_scores(caption_ppl: torch.Tensor, image_ppl: torch.Tensor) -> torch.Tensor:
    """ru-dolph's self-reranking score of ``(b, n)`` candidates' perplexities (lower is better)."""
    return CAPTION_WEIGHT * normalised(caption_ppl) + (1 - CAPTION_WEIGHT) * normalised(image_ppl)


def best_images(caption_ppl: torch.Tensor, image_ppl: torch.Tensor) -> torch.Tensor:
    """``(b,)`` index of the chosen candidate of each sample: the lowest score, the earliest on ties."""
    return image_scores(caption_ppl, image_ppl).argmin(dim=-1)


def best_answers(mean_logp: torch.Tensor) -> torch.Tensor:
    """``(b,)`` index of the chosen answer among ``(b, n)`` mean log-likelihoods: the highest, the
    earliest (candidate 0) on ties."""
    return mean_logp.argmax(dim=-1)
