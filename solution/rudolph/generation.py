"""Decoding with RUDOLPH: image tokens, right text, and scoring of given right texts.

Every loop is written once over a ``Decoder``; the decoding mode chooses how a step is computed:

- ``full``: recompute the whole prefix at every step (the reference behaviour, for tests);
- ``cached``: a KV cache, each step computes the new token over the keys written so far;
- ``static``: the same cache, but every step has the same tensor shapes (``Rudolph.step``);
- ``graph``: the static step captured once per batch size as a CUDA graph and replayed (eager
  ``static`` on CPU, or with one warning when capture fails);
- ``compile``: the static step under ``torch.compile(mode="reduce-overhead")`` (for comparison).

No loop synchronises with the host per token on a GPU: ids are collected on the device, eos is
checked every few steps, and the ids reach the host once per batch. Right-text generation shrinks
the batch to the rows still running once half of them have finished.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .model import CandidateKV, KVCache, Rudolph
from .tokenizer import EOS_ID

DECODING_MODES = ("full", "cached", "static", "graph", "compile")


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


# -- one decode step on fixed buffers -----------------------------------------------------------------
def _sdpa_backends():
    """The attention kernels a captured step may be pinned to (flash takes no mask, so it is not one)."""
    from torch.nn.attention import SDPBackend

    names = {"efficient": "EFFICIENT_ATTENTION", "cudnn": "CUDNN_ATTENTION", "math": "MATH"}
    return {name: getattr(SDPBackend, attr) for name, attr in names.items() if hasattr(SDPBackend, attr)}


class StaticStep:
    """One decode step of ``part`` for ``b`` rows of a static cache: ``tokens (b,)`` in, logits
    ``(b, V)`` out, and ``pos (b,)`` advanced by one. Replays a CUDA graph once ``capture`` worked,
    else runs eagerly on the same buffers."""

    def __init__(self, model: Rudolph, cache: KVCache, part: str, step_fn=None):
        self.model, self.cache, self.part = model, cache, part
        self.step_fn = step_fn or model.step
        device = cache.keys.device
        self.tokens = torch.zeros(cache.batch_size, dtype=torch.long, device=device)
        self.pos = torch.zeros(cache.batch_size, dtype=torch.long, device=device)
        self.logits: torch.Tensor | None = None
        self.graph = None

    @property
    def safe_position(self) -> int:
        """The part's last position: a slot no query reads before a step writes it, where warm-up and
        capture may write."""
        return self.model.config.parts[self.part][1] - 1

    def _run(self) -> None:
        self.logits = self.step_fn(self.tokens, self.pos, self.cache, self.part)
        self.pos.add_(1)

    def capture(self, backend=None) -> None:
        """Record the step as a CUDA graph (optionally pinned to one attention kernel); warm-up and
        capture write at ``safe_position``."""
        from contextlib import nullcontext

        from torch.nn.attention import sdpa_kernel

        pin = sdpa_kernel([backend]) if backend is not None else nullcontext()
        safe = self.safe_position
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), pin:
            for _ in range(2):
                self.pos.fill_(safe)
                self._run()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        self.pos.fill_(safe)
        with pin, torch.cuda.graph(graph):
            self._run()
        self.graph = graph

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        self.tokens.copy_(tokens)
        if self.graph is not None:
            self.graph.replay()
        else:
            self._run()
        return self.logits


class DecodeEngine:
    """Static decoding state kept across batches: one zeroed KV cache of ``max_batch`` rows and one
    ``StaticStep`` per (part, rows), all over views of that cache. With ``use_graphs`` (default: on
    CUDA) each step is captured as a CUDA graph, pinned to the attention kernel measured fastest at
    the first capture; if capture fails, one warning and eager static steps from then on. With
    ``compile`` the step runs under ``torch.compile(mode="reduce-overhead")`` instead."""

    def __init__(self, model: Rudolph, max_batch: int, use_graphs: bool | None = None, compile: bool = False):
        self.model, self.max_batch = model, max_batch
        self.cache = model.new_cache(max_batch)
        device = self.cache.keys.device
        self.use_graphs = (device.type == "cuda" if use_graphs is None else use_graphs) and not compile
        self.step_fn = torch.compile(model.step, mode="reduce-overhead", fullgraph=True) if compile else None
        self.steps: dict[tuple[str, int], StaticStep] = {}
        self.backend = None  # (name, SDPBackend) once measured
        self.backend_ms: dict[str, float] = {}  # ms per replayed step, per kernel tried

    @classmethod
    def for_decoding(cls, model: Rudolph, max_batch: int, decoding: str) -> DecodeEngine | None:
        """The engine a decoding mode runs on; None for the modes without a static cache."""
        if decoding not in DECODING_MODES:
            raise ValueError(f"unknown decoding {decoding!r}; expected one of {DECODING_MODES}")
        if decoding in ("full", "cached"):
            return None
        return cls(model, max_batch, use_graphs=None if decoding == "graph" else False, compile=decoding == "compile")

    def step(self, part: str, rows: int) -> StaticStep:
        if rows > self.max_batch:
            raise ValueError(f"{rows} rows do not fit the engine's cache of {self.max_batch}")
        key = (part, rows)
        if key not in self.steps:
            step = StaticStep(self.model, self.cache.rows(0, rows), part, self.step_fn)
            if self.use_graphs:
                self._capture(step)
            self.steps[key] = step
        return self.steps[key]

    def _capture(self, step: StaticStep) -> None:
        try:
            if self.backend is None:
                self.backend = self._fastest_backend(step)
            step.capture(self.backend[1])
        except Exception as e:  # noqa: BLE001 - any capture problem means: run eagerly
            warnings.warn(f"CUDA graph capture failed ({type(e).__name__}: {e}); decoding eagerly", stacklevel=2)
            self.use_graphs = False
            step.graph = None

    def _fastest_backend(self, step: StaticStep):
        """Capture the step with each attention kernel and keep the fastest (measured, not assumed)."""
        def replay(times: int) -> None:
            for _ in range(times):
                step.pos.fill_(step.safe_position)  # each replay advances pos: start it again where it may write
                step.graph.replay()

        for name, backend in _sdpa_backends().items():
            try:
                step.capture(backend)
                replay(3)
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                replay(10)
                torch.cuda.synchronize()
                self.backend_ms[name] = (time.perf_counter() - t0) * 100  # ms per step
            except Exception:  # noqa: BLE001 - a kernel that cannot run these shapes is not a candidate
                continue
            finally:
                step.graph = None
        if not self.backend_ms:
            raise RuntimeError("no attention kernel could be captured")
        name = min(self.backend_ms, key=self.backend_ms.get)
        return name, _sdpa_backends()[name]


# -- decoders -------------------------------------------------------------------------------------------
class Decoder:
    """Feeds a growing sequence to the model: ``start(prefix)`` and ``push(tokens)`` return the next
    logits ``(b, V)``; ``keep(index)`` drops every row but ``index`` and returns the rows it now holds
    (``index`` first, then copies of ``index[0]`` where a decoder needs a fixed number of rows)."""

    def __init__(self, model: Rudolph):
        self.model = model

    def keep(self, index: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class FullRecompute(Decoder):
    def start(self, prefix: torch.Tensor) -> torch.Tensor:
        self.ids = prefix
        return self.model(prefix)[:, -1]

    def push(self, tokens: torch.Tensor) -> torch.Tensor:
        self.ids = torch.cat([self.ids, tokens[:, None]], dim=1)
        return self.model(self.ids)[:, -1]

    def keep(self, index: torch.Tensor) -> torch.Tensor:
        self.ids = self.ids.index_select(0, index)
        return index


class CachedDecoder(Decoder):
    def start(self, prefix: torch.Tensor) -> torch.Tensor:
        self.cache = self.model.new_cache(prefix.shape[0])
        return self.model(prefix, self.cache, last_only=True)[:, -1]

    def push(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model(tokens[:, None], self.cache, last_only=True)[:, -1]

    def keep(self, index: torch.Tensor) -> torch.Tensor:
        self.cache = self.cache.keep(index)
        return index


class StaticDecoder(Decoder):
    """Prefill through ``forward`` into the engine's cache, then ``StaticStep``s. Shrinking goes to a
    power of two of rows, so that few step shapes (and CUDA graphs) are ever needed."""

    def __init__(self, model: Rudolph, part: str, engine: DecodeEngine):
        super().__init__(model)
        self.part, self.engine = part, engine

    def start(self, prefix: torch.Tensor) -> torch.Tensor:
        rows = prefix.shape[0]
        self.step = self.engine.step(self.part, rows)  # captured before the prefill writes the cache
        cache = self.engine.cache.rows(0, rows)
        cache.length = 0
        logits = self.model(prefix, cache, last_only=True)[:, -1]
        self.step.pos.fill_(prefix.shape[1])
        return logits

    def push(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.step(tokens)

    def keep(self, index: torch.Tensor) -> torch.Tensor:
        rows = 1 << (index.shape[0] - 1).bit_length()  # the next power of two
        index = torch.cat([index, index[:1].expand(rows - index.shape[0])])
        pos = self.step.pos.index_select(0, index)
        self.engine.cache.keep(index)
        self.step = self.engine.step(self.part, rows)
        self.step.pos.copy_(pos)
        return index


def make_decoder(model: Rudolph, part: str, decoding: str, engine: DecodeEngine | None, rows: int) -> Decoder:
    """The decoder of a mode for ``rows`` rows; a static one runs on ``engine`` when it is given (and
    large enough), so its cache and graphs serve batch after batch."""
    if decoding == "full":
        return FullRecompute(model)
    if decoding == "cached":
        return CachedDecoder(model)
    if engine is None or engine.max_batch < rows:
        engine = DecodeEngine.for_decoding(model, rows, decoding)
    return StaticDecoder(model, part, engine)


def default_check_every(device: torch.device) -> int:
    """How many steps between looks at the host: every step on CPU (free), every 8th on a GPU."""
    return 1 if device.type == "cpu" else 8


# -- loops ------------------------------------------------------------------------------------------------
@torch.no_grad()
def generate_image_tokens(model: Rudolph, left_ids: torch.Tensor, sampling: Sampling = BASELINE_IMAGE_SAMPLING,
                          generator: torch.Generator | None = None, decoding: str = "cached",
                          engine: DecodeEngine | None = None, progress=None, steps: int | None = None) -> torch.Tensor:
    """``(b, m*m)`` image ids (0..image_vocab_size-1) generated after the left text ``(b, l)``.

    Image special tokens are never sampled. ``progress`` is an optional callable(step) per token;
    ``steps`` stops after the first ``steps`` tokens (benchmarks and checks).
    """
    c = model.config
    lo, hi = c.text_vocab, c.text_vocab + c.image_vocab_size
    b, n = left_ids.shape[0], min(steps or c.image_seq_length, c.image_seq_length)
    decoder = make_decoder(model, "image", decoding, engine, b)
    logits = decoder.start(left_ids)
    tokens = torch.empty(b, n, dtype=torch.long, device=left_ids.device)
    for step in range(n):
        token = sample_next(logits[:, lo:hi], sampling, generator)
        tokens[:, step] = token
        if progress is not None:
            progress(step)
        if step < n - 1:
            logits = decoder.push(token)
    return tokens


@torch.no_grad()
def generate_right_text(model: Rudolph, left_ids: torch.Tensor, image_ids: torch.Tensor, right_prefix: torch.Tensor,
                        sampling: Sampling = GREEDY, max_new_tokens: int | None = None,
                        generator: torch.Generator | None = None, decoding: str = "cached",
                        engine: DecodeEngine | None = None, check_every: int | None = None,
                        progress=None) -> list[list[int]]:
    """Right-text ids generated after ``[left | image | right_prefix]``, cut before the first eos.

    ``right_prefix`` is ``(b, k)``, usually ``[bos, <RT_UNK>]``. A sampled pad-position id
    (``>= V_text - l``) counts as eos. Every ``check_every`` steps the loop looks at which rows are
    done: it stops when all are, and keeps only the running rows once half or more have finished.
    ``progress`` is an optional callable(step) per token.
    """
    c = model.config
    device = left_ids.device
    room = c.r_text_seq_length - right_prefix.shape[1]
    max_new_tokens = room if max_new_tokens is None else min(max_new_tokens, room)
    check_every = check_every or default_check_every(device)
    eos_from = c.pad_position_start
    b = left_ids.shape[0]
    decoder = make_decoder(model, "right", decoding, engine, b)
    logits = decoder.start(torch.cat([left_ids, image_ids, right_prefix], dim=1))
    out = torch.full((b + 1, max(max_new_tokens, 1)), EOS_ID, dtype=torch.long, device=device)  # row b: scratch
    rows = torch.arange(b, device=device)  # the output row of every decoder row
    finished = torch.zeros(b, dtype=torch.bool, device=device)
    for step in range(max_new_tokens):
        token = torch.where(finished, EOS_ID, sample_next(logits[:, :c.text_vocab], sampling, generator))
        out[rows, step] = token
        finished = finished | (token == EOS_ID) | (token >= eos_from)
        if progress is not None:
            progress(step)
        if step == max_new_tokens - 1:
            break
        if (step + 1) % check_every == 0:
            running = (~finished).nonzero().flatten()
            if running.numel() == 0:
                break
            if running.numel() <= finished.shape[0] // 2:
                kept = decoder.keep(running)
                extra = kept.shape[0] - running.shape[0]  # copies that fill a fixed row count: scratch
                rows = torch.cat([rows.index_select(0, running), rows.new_full((extra,), b)])
                finished = torch.cat([finished.new_zeros(running.shape[0]), finished.new_ones(extra)])
                token = token.index_select(0, kept)
        logits = decoder.push(torch.where(finished, EOS_ID, token))
    texts = []
    for ids in out[:b].tolist():
        end = next((i for i, t in enumerate(ids) if t == EOS_ID or t >= eos_from), len(ids))
        texts.append(ids[:min(end, max_new_tokens)])
    return texts


@torch.no_grad()
def score_right_texts(model: Rudolph, left_ids: torch.Tensor, image_ids: torch.Tensor, right_ids: torch.Tensor,
                      owner: torch.Tensor, skip: int = 2, decoding: str = "cached", cache: KVCache | None = None,
                      max_tokens: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-likelihood of candidate right texts.

    ``left_ids (b, l)`` and ``image_ids (b, m*m)`` are the samples; ``right_ids (n, r)`` are
    candidates, each encoded like a right text (``[bos, <RT_UNK>, ..., eos, pad...]``) and
    belonging to sample ``owner[j]``. The first ``skip`` tokens (bos and the special token, the
    same for every candidate) are given, not scored; pads are not scored. Returns the summed
    log-probability ``(n,)`` and the number of scored tokens ``(n,)``.

    Each sample's prefix is computed once into ``cache`` (rows ``[0, b)`` of it; a new cache if none
    is given). Its candidates are packed side by side, ``(k*r)`` tokens, and attend over that prefix
    in place; samples go through together, ``max_tokens`` candidate tokens at a time. ``decoding="full"``
    recomputes every candidate's whole sequence instead (the reference).
    """
    c = model.config
    prefix = torch.cat([left_ids, image_ids], dim=1)
    n, r = right_ids.shape
    if decoding == "full":
        full = torch.cat([prefix.index_select(0, owner), right_ids], dim=1)
        logits = model(full)[:, prefix.shape[1] - 1:-1, :c.text_vocab]
        token_logp = F.log_softmax(logits.float(), dim=-1).gather(-1, right_ids[..., None]).squeeze(-1)
    else:
        token_logp = _packed_token_logp(model, prefix, right_ids, owner, cache, max_tokens)
    scored = right_ids != 0
    scored[:, :skip] = False
    return (token_logp * scored).sum(dim=1), scored.sum(dim=1)


def _packed_token_logp(model: Rudolph, prefix: torch.Tensor, right_ids: torch.Tensor, owner: torch.Tensor,
                       cache: KVCache | None, max_tokens: int) -> torch.Tensor:
    """``(n, r)`` log-probability of every candidate token given everything before it."""
    b, r = prefix.shape[0], right_ids.shape[1]
    cache = model.new_cache(b) if cache is None else cache.rows(0, b)
    cache.length = 0
    last = model(prefix, cache, last_only=True)[:, -1, :model.config.text_vocab].float().log_softmax(-1)  # (b, V)
    # Slot of every candidate among its sample's: packed[owner, slot] = candidate.
    slots, counts = [], {}
    for o in owner.tolist():
        slots.append(counts.get(o, 0))
        counts[o] = slots[-1] + 1
    k = max(counts.values())
    slot = torch.tensor(slots, device=right_ids.device)
    packed = right_ids.new_zeros(b, k, r)
    packed[owner, slot] = right_ids
    masks = model.transformer.mask_rows_candidates(k)
    positions = torch.arange(r, device=right_ids.device).repeat(k)
    logp = torch.zeros(b, k, r, device=right_ids.device)
    group = max(1, max_tokens // (k * r))
    for i in range(0, b, group):
        ids = packed[i:i + group]  # (g, k, r)
        g = ids.shape[0]
        x = model.embed_part("right", ids.reshape(g, k * r), positions)  # (g, k, r) -> (g, k*r, h)
        hidden = model.transformer(x, masks, CandidateKV(cache.rows(i, i + g)))
        # (g, k*r, V) -> (g, k, r, V) -> (g, k, r-1, V): position t predicts t + 1
        logits = model.text_logits(hidden).view(g, k, r, -1)[:, :, :-1].float()
        logp[i:i + g, :, 1:] = logits.log_softmax(-1).gather(-1, ids[:, :, 1:, None]).squeeze(-1)
        logp[i:i + g, :, 0] = last[i:i + g].gather(-1, ids[:, :, 0])
    return logp[owner, slot]
