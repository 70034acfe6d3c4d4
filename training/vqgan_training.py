"""Training a small VQGAN (the Sber/taming GumbelVQ layout with fewer channels) on synthetic images.

The inference model (``solution.vqgan``) encodes by ``argmax`` over ``quantize.proj``'s code scores and
decodes the chosen ``quantize.embed`` rows. Training needs a differentiable path through that choice;
two quantisers are offered (``QUANTIZERS``):

- ``argmax-st`` (default): straight-through argmax. The forward pass uses the hard one-hot of the
  argmax, exactly what inference does, so the decoder never sees anything else; gradients flow
  through ``softmax(scores)``. Deterministic, and no temperature schedule to tune, which matters
  for a run of a few thousand steps on a CPU.
- ``gumbel``: taming's Gumbel-softmax relaxation (soft one-hots of ``scores + Gumbel noise`` at a
  temperature annealed from 1 to ``tau_min``) with its KL-to-uniform prior term. Closer to how the
  Sber VQGAN was trained, but the decoder trains on soft mixtures and meets hard codes only at
  inference; it needs longer training for that gap to close.

Loss: L1 + L2 reconstruction in [-1, 1] pixel space (no perceptual or adversarial terms: they need
pretrained networks or much longer training), plus a code-usage term that maximises the entropy of
the batch-average code distribution, so the codebook does not collapse onto a few codes. An
optional edge term (``edge`` > 0) adds the L1 distance between the horizontal and vertical pixel
differences of reconstruction and target: thin strokes such as glyphs cover few pixels, so plain
L1/L2 lets them blur into blobs, while their edges dominate the difference images.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from solution.vqgan import VQGAN, save_vqgan_dir  # noqa: F401  (save_vqgan_dir: solution.vqgan owns it)


def quantize_argmax_st(scores: torch.Tensor, tau: float) -> torch.Tensor:
    soft = torch.softmax(scores, dim=1)
    hard = F.one_hot(scores.argmax(dim=1), scores.shape[1]).permute(0, 3, 1, 2).to(soft.dtype)
    return hard + soft - soft.detach()


def quantize_gumbel(scores: torch.Tensor, tau: float) -> torch.Tensor:
    return F.gumbel_softmax(scores, tau=tau, hard=False, dim=1)


QUANTIZERS: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "argmax-st": quantize_argmax_st,
    "gumbel": quantize_gumbel,
}


@dataclass
class VQGANLossWeights:
    l1: float = 1.0
    l2: float = 1.0
    usage: float = 0.1  # code-usage entropy bonus (both quantisers)
    edge: float = 0.0  # L1 of the pixel-difference images (sharp strokes); 0: off
    kl: float = 5e-4  # taming's KL-to-uniform prior (gumbel only)


def reconstruct(vqgan: VQGAN, images: torch.Tensor, quantizer: str, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction in [-1, 1] before clamping, code scores) for images in [0, 1]."""
    scores = vqgan.code_logits(images)
    one_hot = QUANTIZERS[quantizer](scores, tau)
    z = torch.einsum("bnhw,nd->bdhw", one_hot, vqgan.quantize.embed.weight)
    return vqgan.decoder(vqgan.post_quant_conv(z)), scores


def edge_l1(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean L1 distance between the horizontal and between the vertical neighbour differences
    (differencing is linear, so these are the neighbour differences of the residual)."""
    residual = recon - target
    return (torch.diff(residual, dim=-1).abs().mean() + torch.diff(residual, dim=-2).abs().mean()) / 2


def vqgan_loss(recon: torch.Tensor, images: torch.Tensor, scores: torch.Tensor, quantizer: str,
               weights: VQGANLossWeights) -> tuple[torch.Tensor, dict[str, float]]:
    target = 2 * images - 1
    l1 = (recon - target).abs().mean()
    l2 = (recon - target).pow(2).mean()
    n = scores.shape[1]
    probs = torch.softmax(scores, dim=1)
    average = probs.mean(dim=(0, 2, 3))
    usage_entropy = -(average * (average + 1e-10).log()).sum() / math.log(n)  # 1: all codes equally used
    loss = weights.l1 * l1 + weights.l2 * l2 - weights.usage * usage_entropy
    parts = {"l1": l1.item(), "l2": l2.item(), "usage_entropy": usage_entropy.item()}
    if weights.edge:
        edge = edge_l1(recon, target)
        loss = loss + weights.edge * edge
        parts["edge"] = edge.item()
    if quantizer == "gumbel":
        kl = (probs * (probs * n + 1e-10).log()).sum(dim=1).mean()
        loss = loss + weights.kl * kl
        parts["kl"] = kl.item()
    return loss, parts


def gumbel_tau(step: int, total: int, tau_min: float = 0.3) -> float:
    """Temperature annealed exponentially from 1 at step 0 to ``tau_min`` at the last step."""
    return float(tau_min ** (step / max(total - 1, 1)))


@torch.no_grad()
def evaluate(vqgan: VQGAN, images: torch.Tensor, batch_size: int = 64) -> dict[str, float]:
    """Inference-path quality: deterministic encode -> decode; PSNR in dB and codes used."""
    vqgan.eval()
    mse, used = 0.0, set()
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        codes = vqgan.encode(batch)
        used.update(codes.unique().tolist())
        mse += F.mse_loss(vqgan.decode(codes), batch, reduction="sum").item()
    mse /= images.numel()
    return {"psnr": 10 * math.log10(1.0 / max(mse, 1e-12)), "codes_used": len(used), "mse": mse}
