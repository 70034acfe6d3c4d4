"""RUDOLPH: a decoder-only transformer over [left text | image tokens | right text].

Layout, masks and state-dict keys follow the published checkpoints (spec ``rudolph.md``). One
stack of blocks serves every use; what differs is which positions are embedded, which mask rows
each layer gets and what the cache returns as keys and values:

- ``forward(ids, cache)`` (training, prefill, full recomputation): the positions
  ``[cache.length, cache.length + n)``, mask rows sliced with Python numbers, keys up to them;
- ``step(tokens, pos, cache, part, keys, window_from)`` (decoding): one token per row at the device
  positions ``pos``, attending over the first ``keys`` cache positions (a bucket that covers every
  position the query may see; the mask rows hide the rest), or, given ``window_from``, each layer over
  the ranges its mask lets queries from there on see (``masks.key_ranges``), read in place; no shape
  depends on ``pos``, so one step per bucket can be captured once as a CUDA graph and replayed;
- ``attend_candidates`` in ``generation.py`` (option scoring): candidate right texts packed per
  sample, attending over the sample's cached prefix and their own keys.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import RudolphConfig, get_config
from .masks import MASK_KINDS, build_mask, key_ranges, layer_mask_kind
from .tokenizer import PAD_ID

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}  # names on command lines
LAYERNORM_EPS = 1e-5
ATTENTION_CLAMP = 65504.0  # the attention output is clamped to the fp16 range


class KVCache:
    """Static keys and values of every layer, ``(layers, b, heads, S, head_dim)``, filled left to right.

    Zero-initialised: a masked entry is multiplied by probability 0, and 0 x NaN would be NaN.
    """

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, length: int = 0):
        self.keys, self.values, self.length = keys, values, length

    @classmethod
    def allocate(cls, config: RudolphConfig, batch_size: int, device, dtype) -> KVCache:
        heads = config.num_attention_heads
        shape = (config.num_layers, batch_size, heads, config.seq_length, config.hidden_size // heads)
        return cls(torch.zeros(shape, device=device, dtype=dtype), torch.zeros(shape, device=device, dtype=dtype))

    @staticmethod
    def bytes_per_sample(config: RudolphConfig, bytes_per_value: int) -> int:
        """``2 x layers x S x hidden x bytes``: the cost of one row (356 MB at 2.7B in fp16)."""
        return 2 * config.num_layers * config.seq_length * config.hidden_size * bytes_per_value

    @property
    def batch_size(self) -> int:
        return self.keys.shape[1]

    def rows(self, start: int, stop: int) -> KVCache:
        """Rows ``[start, stop)`` as a view (same memory, same length)."""
        return KVCache(self.keys[:, start:stop], self.values[:, start:stop], self.length)

    def keep(self, index: torch.Tensor) -> KVCache:
        """Move rows ``index`` to the front, in place, and return them as a view of ``len(index)`` rows.
        One layer at a time: the copy in flight is one layer of the kept rows (at 2.7B, 11 MB a row),
        never the whole cache of them."""
        n = index.shape[0]
        for layer in range(self.keys.shape[0]):
            self.keys[layer, :n] = self.keys[layer].index_select(0, index)
            self.values[layer, :n] = self.values[layer].index_select(0, index)
        return self.rows(0, n)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the keys and values ``(b, heads, t, head_dim)`` of positions ``[length, length + t)`` of
        ``layer``; return the keys and values up to them."""
        end = self.length + k.shape[2]
        keys, values = self.keys[layer], self.values[layer]  # (b, heads, S, head_dim)
        keys[:, :, self.length:end] = k
        values[:, :, self.length:end] = v
        return keys[:, :, :end], values[:, :, :end]


Ranges = tuple[tuple[int, int], ...]  # [start, end) cache ranges a layer reads, in order


class PositionKV:
    """What one decode step writes and reads: one new position per row, ``pos (b,)`` on the device,
    written in place; each layer reads back its cache ``ranges`` (Python numbers fixed per bucket, so
    the shapes never depend on the position): one range as a tensor, several as a tuple of views."""

    def __init__(self, cache: KVCache, pos: torch.Tensor, ranges: list[Ranges]):
        self.cache, self.pos, self.ranges = cache, pos, ranges
        self.rows = torch.arange(cache.batch_size, device=pos.device)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor):
        keys, values = self.cache.keys[layer], self.cache.values[layer]
        keys[self.rows, :, self.pos] = k[:, :, 0]
        values[self.rows, :, self.pos] = v[:, :, 0]
        return read_ranges(keys, self.ranges[layer]), read_ranges(values, self.ranges[layer])


def read_ranges(x: torch.Tensor, ranges: Ranges):
    """Positions ``ranges`` of ``x (b, heads, S, d)`` as views: a tensor for one range, else a tuple."""
    views = tuple(x[:, :, start:end] for start, end in ranges)
    return views[0] if len(views) == 1 else views


def attention(q: torch.Tensor, k, v, mask: torch.Tensor, dropout: float) -> torch.Tensor:
    """Softmax attention of ``q (b, heads, t, d)`` over keys and values given as one tensor (SDPA) or as
    a tuple of cache ranges read in place: the scores of every range side by side, one softmax in fp32,
    the weighted values of the ranges summed. ``q`` is already scaled."""
    if isinstance(k, torch.Tensor):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0, dropout_p=dropout)
    scores = torch.cat([q @ key.transpose(-1, -2) for key in k], dim=-1).float()
    probs = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1).to(q.dtype)
    pieces = probs.split([key.shape[2] for key in k], dim=-1)
    return sum(p @ value for p, value in zip(pieces, v, strict=True))


class CandidateKV:
    """What packed candidate right texts attend over: their sample's cached prefix ``[0, prefix)``,
    read in place, followed by the candidates' own keys and values (never stored)."""

    def __init__(self, prefix: KVCache):
        self.prefix = prefix

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.prefix.length
        return (torch.cat([self.prefix.keys[layer, :, :, :n], k], dim=2),
                torch.cat([self.prefix.values[layer, :, :, :n], v], dim=2))


class SelfAttention(nn.Module):
    def __init__(self, config: RudolphConfig):
        super().__init__()
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.heads
        self.query_key_value = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.attention_dropout = config.attention_dropout_prob
        self.output_dropout = nn.Dropout(config.output_dropout_prob)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache, layer: int) -> torch.Tensor:
        b, t, h = x.shape
        q, k, v = self.query_key_value(x).split(h, dim=-1)
        # (b, t, h) -> (b, heads, t, head_dim)
        q, k, v = (z.view(b, t, self.heads, self.head_dim).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            k, v = cache.update(layer, k, v)
        # The reference scales q before the product (CogView PB-relax order, safe in fp16) and writes
        # -10000 into masked scores; every query sees at least itself, so a boolean mask (exp -> 0)
        # gives the same probabilities.
        y = attention(q / math.sqrt(self.head_dim), k, v, mask, self.attention_dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(b, t, h)  # (b, heads, t, head_dim) -> (b, t, h)
        return self.output_dropout(self.dense(y).clamp(-ATTENTION_CLAMP, ATTENTION_CLAMP))


class MLP(nn.Module):
    def __init__(self, config: RudolphConfig):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(config.hidden_size, 4 * config.hidden_size)
        self.dense_4h_to_h = nn.Linear(4 * config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.output_dropout_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # GELU, tanh approximation: 0.5x(1 + tanh(0.79788456 x (1 + 0.044715 x^2))).
        return self.dropout(self.dense_4h_to_h(F.gelu(self.dense_h_to_4h(x), approximate="tanh")))


class Block(nn.Module):
    """Pre-LayerNorm block with CogView sandwich norms before each residual addition."""

    def __init__(self, config: RudolphConfig):
        super().__init__()
        h = config.hidden_size
        self.input_layernorm = nn.LayerNorm(h, eps=LAYERNORM_EPS)
        self.attention = SelfAttention(config)
        self.post_attention_layernorm = nn.LayerNorm(h, eps=LAYERNORM_EPS)
        self.mlp = MLP(config)
        self.sandwich = config.cogview_sandwich_layernorm
        if self.sandwich:
            self.before_first_addition_layernorm = nn.LayerNorm(h, eps=LAYERNORM_EPS)
            self.before_second_addition_layernorm = nn.LayerNorm(h, eps=LAYERNORM_EPS)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache, layer: int) -> torch.Tensor:
        a = self.attention(self.input_layernorm(x), mask, cache, layer)
        if self.sandwich:
            a = self.before_first_addition_layernorm(a)
        x = x + a
        f = self.mlp(self.post_attention_layernorm(x))
        if self.sandwich:
            f = self.before_second_addition_layernorm(f)
        return x + f


class SparseTransformer(nn.Module):
    def __init__(self, config: RudolphConfig):
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.final_layernorm = nn.LayerNorm(config.hidden_size, eps=LAYERNORM_EPS)
        self.layer_mask_kinds = [layer_mask_kind(i, config.num_layers) for i in range(config.num_layers)]
        # Published state dicts carry the four masks as buffers; keep the same keys.
        for kind in MASK_KINDS:
            self.register_buffer(kind, build_mask(kind, config))
        self.register_load_state_dict_pre_hook(self._rebuild_masks)
        self.gradient_checkpointing = False

    def _rebuild_masks(self, module, state_dict, prefix, *args):
        """Masks in a checkpoint are accepted whatever their shape and replaced by our own."""
        for kind in MASK_KINDS:
            current = getattr(self, kind)
            device = "cpu" if current.is_meta else current.device
            state_dict[prefix + kind] = build_mask(kind, self.config, device)

    def mask_rows(self, start: int, end: int) -> dict[str, torch.Tensor]:
        """Each mask kind's rows for positions ``[start, end)`` over the keys ``[0, end)``."""
        return {kind: getattr(self, kind)[start:end, :end] for kind in MASK_KINDS}

    def key_ranges(self, keys: int, queries: tuple[int, int] | None) -> dict[str, Ranges]:
        """The cache ranges each mask kind reads in a step: the keys ``[0, keys)``, or, given the positions
        ``queries = [lo, hi)`` the step's queries stand in, only what such queries may see."""
        if queries is None:
            return dict.fromkeys(MASK_KINDS, ((0, keys),))
        return {kind: key_ranges(kind, self.config, queries) for kind in MASK_KINDS}

    def mask_rows_at(self, pos: torch.Tensor, ranges: dict[str, Ranges]) -> dict[str, torch.Tensor]:
        """Each mask kind's row for one position per batch row over its key ``ranges``, ``(b, 1, 1, keys)``,
        gathered on the device."""
        masks = {}
        for kind in MASK_KINDS:
            rows = getattr(self, kind).index_select(0, pos)  # (b, S)
            masks[kind] = torch.cat([rows[:, start:end] for start, end in ranges[kind]], dim=1)[:, None, None, :]
        return masks

    def mask_rows_candidates(self, k: int, r: int | None = None) -> dict[str, torch.Tensor]:
        """Each kind's mask for ``k`` right texts of ``r`` tokens (default: the whole right part) packed
        side by side after the prefix (left and image): ``(k*r, prefix + k*r)``; every candidate sees the
        prefix as the right part does and its own earlier tokens, never another candidate's."""
        right_start, end = self.config.parts["right"]
        end = end if r is None else right_start + r
        masks = {}
        for kind in MASK_KINDS:
            rows = getattr(self, kind)[right_start:end]  # (r, S)
            own = rows[:, right_start:end]
            masks[kind] = torch.cat([rows[:, :right_start].repeat(k, 1), torch.block_diag(*[own] * k)], dim=1)
        return masks

    def forward(self, x: torch.Tensor, masks: dict[str, torch.Tensor], cache=None) -> torch.Tensor:
        """Hidden states after every block; layer ``i`` attends through ``masks[its kind]``."""
        for i, layer in enumerate(self.layers):
            mask = masks[self.layer_mask_kinds[i]]
            if self.gradient_checkpointing and self.training:
                x = torch.utils.checkpoint.checkpoint(layer, x, mask, None, i, use_reentrant=False)
            else:
                x = layer(x, mask, cache, i)
        return self.final_layernorm(x)


class Rudolph(nn.Module):
    def __init__(self, config: RudolphConfig):
        super().__init__()
        self.config = c = config
        h = c.hidden_size
        self.text_embeddings = nn.Embedding(c.text_vocab, h)
        self.image_embeddings = nn.Embedding(c.image_vocab, h)
        self.l_text_pos_embeddings = nn.Embedding(c.l_text_seq_length + 1, h)
        self.r_text_pos_embeddings = nn.Embedding(c.r_text_seq_length + 1, h)
        self.image_row_embeddings = nn.Embedding(c.image_tokens_per_dim, h)
        self.image_col_embeddings = nn.Embedding(c.image_tokens_per_dim, h)
        self.embedding_dropout = c.embedding_dropout_prob  # training only (a number, as attention_dropout)
        self.transformer = SparseTransformer(c)
        self.to_logits = nn.Sequential(nn.LayerNorm(h, eps=LAYERNORM_EPS), nn.Linear(h, c.text_vocab + c.image_vocab))
        self.apply(_init_weights)

    # -- embeddings ---------------------------------------------------------------------------
    def _embed_left(self, ids: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        # Left padding trick: pad (0) at position i becomes id V_text - l + i.
        ids = torch.where(ids == PAD_ID, self.config.pad_position_ids(pos), ids)
        return self.text_embeddings(ids) + self.l_text_pos_embeddings(pos)

    def _embed_image(self, ids: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        m = self.config.image_tokens_per_dim
        return self.image_embeddings(ids) + self.image_row_embeddings(pos // m) + self.image_col_embeddings(pos % m)

    def _embed_right(self, ids: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        return self.text_embeddings(ids) + self.r_text_pos_embeddings(pos)

    def embed_part(self, part: str, ids: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Embeddings of ``ids`` in ``part`` ('left', 'image' or 'right') at positions ``pos`` counted
        from the part's start (``pos`` broadcasts against ``ids``)."""
        embed = {"left": self._embed_left, "image": self._embed_image, "right": self._embed_right}[part]
        x = embed(ids, pos)
        x = x * 0.1 + x.detach() * 0.9  # identity forward; embedding gradients scaled to 10%
        return F.dropout(x, self.embedding_dropout, self.training) if self.embedding_dropout else x

    def embed(self, input_ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Embeddings of tokens at absolute positions ``[start, start + n)``, across part borders."""
        end = start + input_ids.shape[1]
        pieces = []
        for part, (part_start, part_end) in self.config.parts.items():
            lo, hi = max(start, part_start), min(end, part_end)
            if lo < hi:
                pos = torch.arange(lo - part_start, hi - part_start, device=input_ids.device)
                pieces.append(self.embed_part(part, input_ids[:, lo - start:hi - start], pos))
        return torch.cat(pieces, dim=1)

    # -- forward ------------------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None, last_only: bool = False) -> torch.Tensor:
        """Logits ``(b, n, V_text + V_img)`` for the ``n`` given tokens.

        Without a cache ``input_ids`` is a prefix of the sequence starting at position 0. With a
        cache it continues at ``cache.length`` and the cache advances. ``last_only`` computes the
        head for the last position only (what decoding needs).
        """
        start = cache.length if cache is not None else 0
        end = start + input_ids.shape[1]
        if input_ids.shape[1] == 0 or end > self.config.seq_length:
            raise ValueError(f"positions [{start}, {end}) are outside the sequence of {self.config.seq_length}")
        x = self.transformer(self.embed(input_ids, start), self.transformer.mask_rows(start, end), cache)
        if cache is not None:
            cache.length = end
        if last_only:
            x = x[:, -1:]  # (b, n, h) -> (b, 1, h)
        return self.to_logits(x)

    def step(self, tokens: torch.Tensor, pos: torch.Tensor, cache: KVCache, part: str,
             keys: int | None = None, window_from: int | None = None) -> torch.Tensor:
        """Logits ``(b, V_text + V_img)`` after one token per row: ``tokens (b,)`` of ``part`` at the
        absolute positions ``pos (b,)`` (a device tensor), attending over the cache positions
        ``[0, keys)`` (default: all; ``keys`` must exceed every position in ``pos``). With
        ``window_from`` (no position in ``pos`` before it) each layer reads only the keys its mask lets
        such queries see (``masks.key_ranges``: for row and conv layers of image queries, the left
        text and a window of image rows). The keys and values go into ``cache`` at ``pos``; no tensor
        shape and no Python number depends on the position, so the step can be captured as a CUDA
        graph. ``cache.length`` is left as it is.
        """
        keys = self.config.seq_length if keys is None else keys
        part_start = self.config.parts[part][0]
        ranges = self.step_key_ranges(part, keys, window_from)
        layer_ranges = [ranges[kind] for kind in self.transformer.layer_mask_kinds]
        x = self.embed_part(part, tokens[:, None], (pos - part_start)[:, None])  # (b,) -> (b, 1, h)
        x = self.transformer(x, self.transformer.mask_rows_at(pos, ranges), PositionKV(cache, pos, layer_ranges))
        return self.to_logits(x)[:, 0]  # (b, 1, V) -> (b, V)

    def step_key_ranges(self, part: str, keys: int, window_from: int | None) -> dict[str, Ranges]:
        """The cache ranges each mask kind reads in a ``step`` of ``part`` (see there)."""
        if window_from is None:
            return self.transformer.key_ranges(keys, None)
        return self.transformer.key_ranges(keys, (window_from, min(keys, self.config.parts[part][1])))

    def head_columns(self, hidden: torch.Tensor, start: int, end: int) -> torch.Tensor:
        """The head over the logit columns ``[start, end)`` only (what scoring needs, without the rest)."""
        norm, linear = self.to_logits
        return F.linear(norm(hidden), linear.weight[start:end], linear.bias[start:end])

    def text_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The head over the text columns ``[0, V_text)`` only (what scoring right texts needs)."""
        return self.head_columns(hidden, 0, self.config.text_vocab)

    def new_cache(self, batch_size: int) -> KVCache:
        weight = self.text_embeddings.weight
        return KVCache.allocate(self.config, batch_size, weight.device, weight.dtype)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def build_model(params, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Rudolph:
    """A RUDOLPH with random weights from official-style params (a dict, registry name or config),
    made directly on ``device`` in ``dtype`` (2.7B in fp16 on a GPU needs no fp32 copy on the host).
    Without ``device`` the surrounding default device is used (``with torch.device("meta")`` builds
    shapes only)."""
    previous = torch.get_default_dtype()
    if dtype is not None:
        torch.set_default_dtype(dtype)
    try:
        with torch.device(device) if device is not None else contextlib.nullcontext():
            return Rudolph(get_config(params))
    finally:
        torch.set_default_dtype(previous)
