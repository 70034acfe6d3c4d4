"""Sber-VQGAN: the taming-transformers ``GumbelVQ`` autoencoder, inference only.

Module and parameter names reproduce taming's ``GumbelVQ`` exactly, so its ``state_dict`` (minus
the training loss weights) loads with ``strict=True``:

    encoder.conv_in
    encoder.down.{i}.block.{j}.{norm1,conv1,norm2,conv2[,nin_shortcut]}
    encoder.down.{i}.attn.{j}.{norm,q,k,v,proj_out}      (levels whose resolution is in attn_resolutions)
    encoder.down.{i}.downsample.conv                     (all levels but the last)
    encoder.mid.{block_1,attn_1,block_2}, encoder.norm_out, encoder.conv_out
    decoder.conv_in, decoder.mid.*, decoder.norm_out, decoder.conv_out
    decoder.up.{i}.block.{j} (num_res_blocks + 1 blocks), decoder.up.{i}.attn.{j}
    decoder.up.{i}.upsample.conv                         (all levels but level 0)
    quant_conv, post_quant_conv, quantize.proj, quantize.embed

``up.{i}`` is indexed by resolution level, like ``down.{i}``: level 0 is the full-resolution level
(``ch * ch_mult[0]`` channels) and the decoder runs the levels from the last to 0. (taming builds them
in that reverse order with ``self.up.insert(0, up)``, which ends in the same indexing.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class DDConfig:
    """taming's ``ddconfig`` (the encoder/decoder hyper-parameters), same names."""

    ch: int
    ch_mult: tuple[int, ...]
    num_res_blocks: int
    attn_resolutions: tuple[int, ...]
    resolution: int
    z_channels: int
    in_channels: int = 3
    out_ch: int = 3
    double_z: bool = False
    dropout: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "ch_mult", tuple(self.ch_mult))
        object.__setattr__(self, "attn_resolutions", tuple(self.attn_resolutions))
        if self.double_z:
            raise ValueError("GumbelVQ needs double_z=False (the encoder emits z_channels, not 2 * z_channels)")

    @property
    def num_levels(self) -> int:
        return len(self.ch_mult)

    def level_channels(self, i: int) -> int:
        return self.ch * self.ch_mult[i]

    def level_has_attn(self, i: int) -> bool:
        # The attention decision uses the configured resolution, not the size of the actual input.
        return self.resolution // 2**i in self.attn_resolutions


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = group_norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        # 1x1 projection of the skip path when the channel count changes.
        self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(self.dropout(swish(self.norm2(h))))
        skip = x if self.nin_shortcut is None else self.nin_shortcut(x)
        return skip + h


class AttnBlock(nn.Module):
    """Single-head self-attention over the h*w positions, 1x1-conv projections, residual."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = group_norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = self.norm(x)
        # (b, c, h, w) -> (b, 1, h*w, c): one head of width c, scale 1/sqrt(c) (SDPA's default).
        q, k, v = (proj(y).reshape(b, 1, c, h * w).transpose(-1, -2) for proj in (self.q, self.k, self.v))
        out = F.scaled_dot_product_attention(q, k, v)
        out = out.transpose(-1, -2).reshape(b, c, h, w)  # (b, 1, h*w, c) -> (b, c, h, w)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    """Zero-pad one column right and one row bottom, then a 3x3 conv with stride 2 (no conv padding)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0.0))


class Upsample(nn.Module):
    """Nearest-neighbour x2, then a 3x3 conv."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


# resample kind -> (attribute name in the state dict, module class)
RESAMPLERS = {"down": ("downsample", Downsample), "up": ("upsample", Upsample)}


class Level(nn.Module):
    """One resolution level: ResNet blocks, each followed by an attention block where the level has
    attention, then an optional resampler (``downsample`` / ``upsample``)."""

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int, with_attn: bool,
                 resample: str | None, dropout: float):
        super().__init__()
        self.block = nn.ModuleList(
            ResnetBlock(in_channels if j == 0 else out_channels, out_channels, dropout) for j in range(num_blocks)
        )
        self.attn = nn.ModuleList(AttnBlock(out_channels) for _ in range(num_blocks if with_attn else 0))
        self.resample_name = None
        if resample is not None:
            self.resample_name, cls = RESAMPLERS[resample]
            setattr(self, self.resample_name, cls(out_channels))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for j, block in enumerate(self.block):
            h = block(h)
            if len(self.attn) > 0:
                h = self.attn[j](h)
        if self.resample_name is not None:
            h = getattr(self, self.resample_name)(h)
        return h


class Mid(nn.Module):
    def __init__(self, channels: int, dropout: float):
        super().__init__()
        self.block_1 = ResnetBlock(channels, channels, dropout)
        self.attn_1 = AttnBlock(channels)
        self.block_2 = ResnetBlock(channels, channels, dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.block_2(self.attn_1(self.block_1(h)))


class Encoder(nn.Module):
    """(b, in_channels, H, W) -> (b, z_channels, H / 2**(L-1), W / 2**(L-1))."""

    def __init__(self, cfg: DDConfig):
        super().__init__()
        n = cfg.num_levels
        self.conv_in = nn.Conv2d(cfg.in_channels, cfg.ch, 3, padding=1)
        self.down = nn.ModuleList(
            Level(
                in_channels=cfg.ch if i == 0 else cfg.level_channels(i - 1),
                out_channels=cfg.level_channels(i),
                num_blocks=cfg.num_res_blocks,
                with_attn=cfg.level_has_attn(i),
                resample="down" if i != n - 1 else None,
                dropout=cfg.dropout,
            )
            for i in range(n)
        )
        top = cfg.level_channels(n - 1)
        self.mid = Mid(top, cfg.dropout)
        self.norm_out = group_norm(top)
        self.conv_out = nn.Conv2d(top, cfg.z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level in self.down:
            h = level(h)
        h = self.mid(h)
        return self.conv_out(swish(self.norm_out(h)))


class Decoder(nn.Module):
    """(b, z_channels, h, w) -> (b, out_ch, h * 2**(L-1), w * 2**(L-1))."""

    def __init__(self, cfg: DDConfig):
        super().__init__()
        n = cfg.num_levels
        top = cfg.level_channels(n - 1)
        self.conv_in = nn.Conv2d(cfg.z_channels, top, 3, padding=1)
        self.mid = Mid(top, cfg.dropout)
        # Level i receives the output of level i + 1 (or of `mid` for the last level).
        self.up = nn.ModuleList(
            Level(
                in_channels=cfg.level_channels(i + 1) if i != n - 1 else top,
                out_channels=cfg.level_channels(i),
                num_blocks=cfg.num_res_blocks + 1,
                with_attn=cfg.level_has_attn(i),
                resample="up" if i != 0 else None,
                dropout=cfg.dropout,
            )
            for i in range(n)
        )
        self.norm_out = group_norm(cfg.level_channels(0))
        self.conv_out = nn.Conv2d(cfg.level_channels(0), cfg.out_ch, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for level in reversed(self.up):
            h = level(h)
        return self.conv_out(swish(self.norm_out(h)))


class GumbelQuantize(nn.Module):
    """Codebook of a Gumbel VQ: ``proj`` scores the n_embed codes at each position, ``embed`` holds them."""

    def __init__(self, z_channels: int, embed_dim: int, n_embed: int):
        super().__init__()
        self.proj = nn.Conv2d(z_channels, n_embed, 1)
        self.embed = nn.Embedding(n_embed, embed_dim)


class VQGAN(nn.Module):
    def __init__(self, ddconfig: dict, n_embed: int, embed_dim: int):
        super().__init__()
        self.config = DDConfig(**ddconfig)
        if embed_dim != self.config.z_channels:
            # taming sizes quantize.proj by z_channels but feeds it quant_conv's embed_dim channels.
            raise ValueError(f"GumbelVQ needs embed_dim == z_channels, got {embed_dim} and {self.config.z_channels}")
        self.n_embed = n_embed
        self.embed_dim = embed_dim
        self.encoder = Encoder(self.config)
        self.decoder = Decoder(self.config)
        self.quantize = GumbelQuantize(self.config.z_channels, embed_dim, n_embed)
        self.quant_conv = nn.Conv2d(self.config.z_channels, embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(embed_dim, self.config.z_channels, 1)

    @property
    def downsample_factor(self) -> int:
        """Image pixels per token along each side (8 for the Sber VQGAN)."""
        return 2 ** (self.config.num_levels - 1)

    def image_size(self, tokens_per_dim: int) -> int:
        """Side in pixels of an image coded as ``tokens_per_dim`` x ``tokens_per_dim`` tokens."""
        return tokens_per_dim * self.downsample_factor

    def code_logits(self, images: torch.Tensor) -> torch.Tensor:
        """(b, 3, H, W) in [0, 1] -> (b, n_embed, H/f, W/f) code scores (f = downsample_factor)."""
        if images.ndim != 4 or images.shape[1] != self.config.in_channels:
            raise ValueError(f"images must be (b, {self.config.in_channels}, H, W), got {tuple(images.shape)}")
        f = self.downsample_factor
        if images.shape[2] % f or images.shape[3] % f:
            raise ValueError(f"image height and width must be multiples of {f}, got {tuple(images.shape[2:])}")
        weight = self.quant_conv.weight
        x = images.to(device=weight.device, dtype=weight.dtype)
        h = self.quant_conv(self.encoder(2 * x - 1))
        return self.quantize.proj(h)

    @torch.no_grad()
    def encode(self, images: torch.Tensor, gumbel: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """(b, 3, H, W) floats in [0, 1] -> (b, h*w) long code ids, row-major, h = H/f, w = W/f.

        Deterministic argmax by default. ``gumbel=True`` samples as the reference effectively does
        (docs/vqgan.md): argmax(logits + Gumbel noise), the noise drawn from ``generator`` (on the
        model's device). The Gumbel-softmax temperature divides the noisy logits and so never changes
        the argmax: it is not a parameter.
        """
        logits = self.code_logits(images).float()
        if gumbel:
            # -log(E), E ~ Exp(1), is standard Gumbel noise (torch's gumbel_softmax draws it the same way).
            noise = -torch.empty_like(logits).exponential_(generator=generator).log()
            logits = logits + noise
        return logits.argmax(dim=1).flatten(1)  # (b, n_embed, h, w) -> (b, h, w) -> (b, h*w)

    @torch.no_grad()
    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        """(b, h*w) code ids, h*w a square -> (b, 3, f*h, f*w) floats in [0, 1]."""
        if ids.ndim != 2:
            raise ValueError(f"ids must be (b, h*w), got {tuple(ids.shape)}")
        side = math.isqrt(ids.shape[1])
        if side * side != ids.shape[1] or side == 0:
            raise ValueError(f"the number of ids per image must be a square, got {ids.shape[1]}")
        weight = self.quantize.embed.weight
        ids = ids.to(device=weight.device, dtype=torch.long)
        if ids.min() < 0 or ids.max() >= self.n_embed:
            raise ValueError(f"code ids must lie in [0, {self.n_embed}), got [{ids.min()}, {ids.max()}]")
        # The reference computes one_hot(ids).float() @ embed.weight: a row lookup, exactly.
        z = F.embedding(ids, weight)  # (b, h*w, embed_dim)
        z = z.transpose(1, 2).reshape(ids.shape[0], self.embed_dim, side, side)  # -> (b, embed_dim, h, w)
        x = self.decoder(self.post_quant_conv(z))
        return (x.clamp(-1.0, 1.0) + 1.0) / 2.0


def build_vqgan(ddconfig: dict, n_embed: int, embed_dim: int) -> VQGAN:
    """A randomly initialised VQGAN with taming's ``GumbelVQ`` state-dict layout, in eval mode."""
    return VQGAN(ddconfig, n_embed, embed_dim).eval()
