"""ruCLIP (`ruclip-vit-large-patch14-336`) without torchvision and without downloads.

The official FBC2 scorer computed the CLIP part of ImageCaptioning and ImageGeneration with the
`ruclip` package (``ruclip.load('ruclip-vit-large-patch14-336')`` and ``ruclip.Predictor(..., bs=8)``).
This module re-implements the model, the tokenizer and the image preprocessing so that the published
checkpoint directory loads unchanged with strict key matching::

    <weights_dir>/config.json         model hyper-parameters (field names below)
    <weights_dir>/pytorch_model.bin   state dict in the OpenAI-CLIP layout
    <weights_dir>/bpe.model           youtokentome BPE model (read by solution.rudolph.bpe, no youtokentome needed)

Facts taken from the reference implementation, ai-forever/ru-clip (the source of the `ruclip`
package), and kept here as comments next to the code that depends on them:

* ``ruclip/model.py``: OpenAI-CLIP layout; ``QuickGELU`` (``x * sigmoid(1.702 x)``) in every MLP;
  pre-LN residual blocks built on ``nn.MultiheadAttention`` (keys ``attn.in_proj_weight``,
  ``attn.in_proj_bias``, ``attn.out_proj.{weight,bias}``), ``mlp.c_fc``, ``mlp.c_proj``, ``ln_1``,
  ``ln_2``; vision heads = ``vision_width // 64``; causal mask in the text transformer only; the text
  embedding is taken at the position of the eos token **id 3** (``torch.where(input_ids ==
  self.eos_id)``), not at the argmax of the ids as in OpenAI CLIP; ``CLIP.from_pretrained`` reads
  ``config.json`` fields ``embed_dim, image_resolution, vision_layers, vision_width,
  vision_patch_size, context_length, vocab_size, transformer_width, transformer_heads,
  transformer_layers`` and loads ``pytorch_model.bin`` with the default strict ``load_state_dict``.
* ``ruclip/processor.py``: pad 0, unk 1, bos 2, eos 3; the text is lower-cased, BPE-encoded
  (``dropout_prob=0``), cut to ``context_length - 2`` tokens, wrapped in bos/eos and right-padded with
  0 to ``context_length`` (77); images: ``convert('RGB')``, ``RandomResizedCrop(image_resolution,
  scale=(1, 1), ratio=(1, 1))``, ``ToTensor``, ``Normalize(mean, std)`` with the OpenAI CLIP
  mean/std unless ``config.json`` has ``mean``/``std``.
* ``ruclip/predictor.py``: ``Predictor.get_text_latents`` (what the official scorer calls) encodes
  the text in six templates, averages the *unnormalised* text embeddings over the templates and
  then L2-normalises; ``get_image_latents`` L2-normalises the image embeddings. The official score
  is the dot product of the two. That template ensemble is the default here (``OFFICIAL_TEMPLATES``);
  ``templates=("{}",)`` gives the plain single-caption embedding.
"""

from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

from evaluator.errors import WeightsMismatch, WeightsUnavailable
from solution.checkpoint_files import compare_state_dict
from solution.rudolph.bpe import BPE, without_lone_surrogates

__all__ = [
    "CONFIG_FIELDS",
    "CLIP_MEAN",
    "CLIP_STD",
    "OFFICIAL_TEMPLATES",
    "RuCLIP",
    "RuCLIPScorer",
    "RuCLIPTokenizer",
    "WeightsMismatch",
    "build_ruclip",
    "load_ruclip",
    "preprocess_image",
]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "pytorch_model.bin"
BPE_FILE = "bpe.model"

# The config.json fields that ruclip's CLIP.from_pretrained reads (ai-forever/ru-clip ruclip/model.py).
CONFIG_FIELDS = (
    "embed_dim",
    "image_resolution",
    "vision_layers",
    "vision_width",
    "vision_patch_size",
    "context_length",
    "vocab_size",
    "transformer_width",
    "transformer_heads",
    "transformer_layers",
)

# RuCLIPProcessor defaults (ai-forever/ru-clip ruclip/processor.py), used when config.json has no mean/std.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# Special token ids (ruclip/processor.py: RuCLIPProcessor.pad_id/unk_id/bos_id/eos_id).
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

# ruclip.Predictor's default templates (ruclip/predictor.py), used by the official scorer.
OFFICIAL_TEMPLATES = (
    "{}",
    "фото, на котором изображено {}",
    "изображение с {}",
    "картинка с {}",
    "фото с {}",
    "на фото видно {}",
)


# --------------------------------------------------------------------------------------------------
# Model


class LayerNorm(nn.LayerNorm):
    """LayerNorm computed in float32 (as ruclip's LayerNorm), returned in the input dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).to(x.dtype)


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x): the activation of ruclip's (and OpenAI CLIP's) MLPs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """Pre-LN block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). Sequence-first (L, N, D) tensors."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                [
                    ("c_fc", nn.Linear(width, width * 4)),
                    ("gelu", QuickGELU()),
                    ("c_proj", nn.Linear(width * 4, width)),
                ]
            )
        )
        self.ln_2 = LayerNorm(width)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=attn_mask)[0]
        x = x + self.mlp(self.ln_2(x))
        return x


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.width = width
        self.layers = layers
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, attn_mask)
        return x


class VisionTransformer(nn.Module):
    """ViT image encoder: patch conv, class token, learned positions, ln_pre, blocks, ln_post, proj."""

    def __init__(
        self, resolution: int, patch_size: int, width: int, layers: int, heads: int, output_dim: int
    ):
        super().__init__()
        self.resolution = resolution
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width**-0.5
        grid = resolution // patch_size
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.conv1(pixels)  # (N, width, grid, grid)
        x = x.flatten(2).transpose(1, 2)  # (N, grid*grid, width)
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = self.transformer(x.transpose(0, 1)).transpose(0, 1)
        return self.ln_post(x[:, 0, :]) @ self.proj


class RuCLIP(nn.Module):
    """The ruCLIP model; its state_dict keys are exactly those of ruclip's CLIP module."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        self.context_length = int(config["context_length"])
        vision_width = int(config["vision_width"])
        self.visual = VisionTransformer(
            resolution=int(config["image_resolution"]),
            patch_size=int(config["vision_patch_size"]),
            width=vision_width,
            layers=int(config["vision_layers"]),
            heads=vision_width // 64,  # ruclip/model.py: vision_heads = vision_width // 64
            output_dim=int(config["embed_dim"]),
        )
        width = int(config["transformer_width"])
        self.transformer = Transformer(
            width, int(config["transformer_layers"]), int(config["transformer_heads"])
        )
        self.token_embedding = nn.Embedding(int(config["vocab_size"]), width)
        self.positional_embedding = nn.Parameter(torch.empty(self.context_length, width))
        self.ln_final = LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, int(config["embed_dim"])))
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))
        # Causal mask of the text transformer; not part of the state dict (a plain attribute in ruclip).
        mask = torch.full((self.context_length, self.context_length), float("-inf")).triu_(1)
        self.register_buffer("attn_mask", mask, persistent=False)
        self._init_text_parameters()

    def _init_text_parameters(self) -> None:
        # The random init of ruclip's CLIP.initialize_parameters; only matters for tests.
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        width, layers = self.transformer.width, self.transformer.layers
        proj_std = width**-0.5 * (2 * layers) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=width**-0.5)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=(2 * width) ** -0.5)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=width**-0.5)

    @property
    def dtype(self) -> torch.dtype:
        return self.visual.conv1.weight.dtype

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 3, R, R) normalised pixels -> (N, embed_dim) unnormalised image embeddings."""
        return self.visual(pixels.to(self.dtype))

    def encode_text(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(N, context_length) token ids -> (N, embed_dim) unnormalised text embeddings."""
        eos = input_ids == EOS_ID
        if not bool((eos.sum(dim=1) == 1).all()):
            raise ValueError("every token row must contain the eos id 3 exactly once")
        x = self.token_embedding(input_ids).to(self.dtype) + self.positional_embedding.to(self.dtype)
        x = self.transformer(x.transpose(0, 1), self.attn_mask.to(x.dtype)).transpose(0, 1)
        x = self.ln_final(x)
        # ruclip pools at the eos token (id 3), not at argmax(ids) as OpenAI CLIP does.
        eos_pos = eos.int().argmax(dim=1)
        return x[torch.arange(x.shape[0], device=x.device), eos_pos] @ self.text_projection


def build_ruclip(config: dict) -> RuCLIP:
    """A randomly initialised RuCLIP from a config dict with the CONFIG_FIELDS keys (tiny ones for tests)."""
    missing = [k for k in CONFIG_FIELDS if k not in config]
    if missing:
        raise ValueError(f"ruCLIP config lacks the fields: {', '.join(missing)}")
    return RuCLIP(config).eval()


# --------------------------------------------------------------------------------------------------
# Tokenizer and image preprocessing


class RuCLIPTokenizer:
    """ruclip's text encoding on a youtokentome BPE model (ruclip/processor.py, RuCLIPProcessor.encode_text).

    Truncation follows the processor after ai-forever/ru-clip PR #19 (merged 2022-04): the BPE ids are
    cut to context_length - 2 so eos is always kept. Before that fix, texts over 75 BPE tokens lost
    their eos and made ruclip's encode_text fail (a score of 0 in the official scorer's try/except).

    The BPE gives youtokentome's exact ids without the library (solution/rudolph/bpe.py). A lone
    surrogate, on which youtokentome raises, is replaced by U+FFFD with a warning.
    """

    def __init__(self, bpe_path: str, context_length: int = 77):
        self.bpe = BPE.load(bpe_path)
        self.context_length = context_length

    def encode(self, text: str) -> list[int]:
        """Lower-case, BPE ids, cut to context_length - 2, [bos] + ids + [eos], pad with 0."""
        ids = self.bpe.encode(without_lone_surrogates(text.lower()))
        ids = [BOS_ID] + list(ids[: self.context_length - 2]) + [EOS_ID]
        return ids + [PAD_ID] * (self.context_length - len(ids))

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        return torch.tensor([self.encode(t) for t in texts], dtype=torch.long)


def _square_crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The crop of torchvision RandomResizedCrop(scale=(1, 1), ratio=(1, 1)) as (left, top, right, bottom).

    Its sampled crop has side round(sqrt(W*H)), which only fits when W == H (whole image) or the sides
    differ by a pixel or so; otherwise torchvision falls back to the central crop of side min(W, H)
    (torchvision/transforms/transforms.py, RandomResizedCrop.get_params). We always take the central
    crop, so for almost-square non-square images we pick one of torchvision's random positions.
    """
    side = min(width, height)
    top = (height - side) // 2
    left = (width - side) // 2
    return left, top, left + side, top + side


def preprocess_image(
    image: Image.Image, size: int, mean: Sequence[float] = CLIP_MEAN, std: Sequence[float] = CLIP_STD
) -> np.ndarray:
    """PIL image -> (3, size, size) float32 array, as ruclip's image_transform does.

    convert('RGB') -> central square crop -> bilinear resize to size x size (RandomResizedCrop's default
    interpolation; PIL's resize, as torchvision uses for PIL inputs) -> [0, 1] -> (x - mean) / std.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    image = image.crop(_square_crop_box(*image.size)).resize((size, size), Image.BILINEAR)
    x = np.asarray(image, dtype=np.float32) / 255.0
    x = (x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


# --------------------------------------------------------------------------------------------------
# Scorer


class RuCLIPScorer:
    """CLIP similarity of (image, text) pairs as the official FBC2 scorer computed it."""

    def __init__(
        self,
        model: RuCLIP,
        tokenizer: RuCLIPTokenizer,
        mean: Sequence[float] = CLIP_MEAN,
        std: Sequence[float] = CLIP_STD,
        templates: Sequence[str] = OFFICIAL_TEMPLATES,
        batch_size: int = 8,
        device: str | torch.device = "cpu",
    ):
        if not templates:
            raise ValueError("templates must hold at least one '{}' pattern")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.templates = tuple(templates)
        self.batch_size = batch_size

    @property
    def image_size(self) -> int:
        return self.model.visual.resolution

    @torch.no_grad()
    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(n, embed_dim) float32, L2-normalised image embeddings."""
        out = []
        for start in range(0, len(images), self.batch_size):
            batch = [
                preprocess_image(im, self.image_size, self.mean, self.std)
                for im in images[start : start + self.batch_size]
            ]
            pixels = torch.from_numpy(np.stack(batch)).to(self.device)
            out.append(_l2_normalise(self.model.encode_image(pixels).float()))
        return _concat(out, self.model.config["embed_dim"])

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, embed_dim) float32, L2-normalised text embeddings.

        As ruclip.Predictor.get_text_latents: each text is lower-cased and stripped, put in every
        template, the unnormalised embeddings are averaged over the templates, then L2-normalised.
        """
        per_template = []
        for template in self.templates:
            filled = [template.format(t.lower().strip()) for t in texts]
            chunks = []
            for start in range(0, len(filled), self.batch_size):
                ids = self.tokenizer(filled[start : start + self.batch_size]).to(self.device)
                chunks.append(self.model.encode_text(ids).float())
            per_template.append(
                torch.cat(chunks) if chunks else torch.zeros(0, self.model.config["embed_dim"])
            )
        return _l2_normalise(torch.stack(per_template).mean(dim=0)).cpu().numpy()

    def similarity(self, images: Sequence[Image.Image], texts: Sequence[str]) -> list[float]:
        """Cosine similarity of each (images[i], texts[i]) pair, in order."""
        if len(images) != len(texts):
            raise ValueError(f"got {len(images)} images but {len(texts)} texts")
        image_emb = self.encode_images(images)
        text_emb = self.encode_texts(texts)
        return [float(v) for v in (image_emb * text_emb).sum(axis=1)]


def _l2_normalise(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True)


def _concat(chunks: list[torch.Tensor], dim: int) -> np.ndarray:
    if not chunks:
        return np.zeros((0, dim), dtype=np.float32)
    return torch.cat(chunks).cpu().numpy()


# --------------------------------------------------------------------------------------------------
# Loading


def read_config(weights_dir: str) -> dict:
    path = os.path.join(weights_dir, CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as error:
        raise WeightsMismatch(f"cannot read ruCLIP config {path}: {error}") from None
    if not isinstance(config, dict):
        raise WeightsMismatch(f"ruCLIP config {path} is not a JSON object")
    missing = [k for k in CONFIG_FIELDS if k not in config]
    if missing:
        raise WeightsMismatch(f"ruCLIP config {path} lacks the fields: {', '.join(missing)}")
    return config


def read_state_dict(path: str, what: str) -> dict:
    """torch.load of a plain state dict (tensors only); unreadable files raise WeightsMismatch."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt, truncated or not a tensor-only pickle
        raise WeightsMismatch(f"cannot read {what} {path}: {error}") from None
    if not isinstance(state, dict):
        raise WeightsMismatch(f"{what} {path} is not a state dict (got {type(state).__name__})")
    return state


def check_state_dict(model: nn.Module, state: dict, what: str) -> None:
    """Raise WeightsMismatch listing missing keys, unexpected keys and shape differences."""
    diff = compare_state_dict(model.state_dict(), state)
    missing, unexpected = diff.missing, diff.unexpected
    shapes = [f"{k}: checkpoint {ours} vs model {theirs}" for k, ours, theirs in diff.wrong_shape]
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {', '.join(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches ({len(shapes)}): {'; '.join(shapes)}")
    if problems:
        raise WeightsMismatch(f"{what} does not match the expected layout: " + " | ".join(problems))


def load_ruclip(
    weights_dir: str,
    device: str | torch.device = "cpu",
    templates: Sequence[str] = OFFICIAL_TEMPLATES,
    batch_size: int = 8,
) -> RuCLIPScorer:
    """Load the ruCLIP checkpoint directory (config.json, pytorch_model.bin, bpe.model) strictly.

    Raises WeightsUnavailable naming the absent directory or files, WeightsMismatch (a WeightsUnavailable)
    when config.json or the state dict does not match the ruCLIP layout.
    """
    if not weights_dir or not os.path.isdir(weights_dir):
        raise WeightsUnavailable(
            f"ruCLIP weights directory not found: {weights_dir!r} "
            f"(expected a directory with {CONFIG_FILE}, {WEIGHTS_FILE}, {BPE_FILE})"
        )
    absent = [
        n for n in (CONFIG_FILE, WEIGHTS_FILE, BPE_FILE) if not os.path.isfile(os.path.join(weights_dir, n))
    ]
    if absent:
        raise WeightsUnavailable(f"ruCLIP weights directory {weights_dir} lacks: {', '.join(absent)}")
    config = read_config(weights_dir)
    model = RuCLIP(config)
    weights_path = os.path.join(weights_dir, WEIGHTS_FILE)
    state = read_state_dict(weights_path, "ruCLIP checkpoint")
    check_state_dict(model, state, f"ruCLIP checkpoint {weights_path}")
    model.load_state_dict(state, strict=True)
    tokenizer = RuCLIPTokenizer(
        os.path.join(weights_dir, BPE_FILE), context_length=int(config["context_length"])
    )
    return RuCLIPScorer(
        model,
        tokenizer,
        mean=config.get("mean") or CLIP_MEAN,
        std=config.get("std") or CLIP_STD,
        templates=templates,
        batch_size=batch_size,
        device=device,
    )
