"""Decoding with RUDOLPH: image tokens, right text, and scoring of given right texts.

Every loop is written once over a ``Decoder``; the decoding mode chooses how a step is computed:

- ``full``: recompute the whole prefix at every step (the reference behaviour, for tests);
- ``cached``: a KV cache, each step computes the new token over the keys written so far;
- ``static``: the same cache, but every step of a key bucket has the same tensor shapes
  (``Rudolph.step`` over the first ``keys`` positions, ``keys`` a multiple of ``KEY_BUCKET``);
- ``graph``: each static step captured once per (part, rows, key bucket) as a CUDA graph and replayed
  (eager ``static`` on CPU; a shape whose capture fails runs eagerly, said once on stderr).

No loop synchronises with the host per token on a GPU: tokens are sampled on the device with
counter-based noise (``sampling.py``), ids are collected there, eos is checked every few steps, and the
ids reach the host once per batch. Right-text generation shrinks the batch to the rows still running
once half of them have finished. docs/gpu.md describes the GPU path.
"""

from __future__ import annotations

import statistics
import sys
import time
from contextlib import nullcontext
from typing import NamedTuple, Protocol

import torch
import torch.nn.functional as F

from .model import CandidateKV, KVCache, Rudolph
from .sampling import (
    BASELINE_IMAGE_SAMPLING,
    BASELINE_TEXT_SAMPLING,
    GREEDY,
    Sampling,
    row_seed,
    sample_next,
)
from .tokenizer import EOS_ID

__all__ = ["BASELINE_IMAGE_SAMPLING", "BASELINE_TEXT_SAMPLING", "DECODING_MODES", "GREEDY", "DecodeEngine",
           "Sampling", "generate_image_tokens", "generate_right_text", "row_seed", "sample_next",
           "score_right_texts"]

DECODING_MODES = ("full", "cached", "static", "graph")
KEY_BUCKET = 128  # a static step attends over a multiple of this many cache positions
WARMUP_MS = 100.0  # replays of every candidate kernel before any is timed
TIMING_ROUNDS, REPLAYS_PER_ROUND = 5, 10
REFERENCE_KERNEL = {"cuda": "efficient", "cpu": "math"}  # what a candidate's logits must match
FP16_TOLERANCE = 1e-2  # relative to the largest reference logit


def key_end(position: int, bucket: int, seq_length: int) -> int:
    """The keys a query at ``position`` attends over: ``[0, key_end)``, the bucket that holds it."""
    return min(seq_length, (position // bucket + 1) * bucket)


def bucket_start(keys: int, bucket: int) -> int:
    """The first position whose ``key_end`` is ``keys``."""
    return (keys - 1) // bucket * bucket


# -- attention kernels ------------------------------------------------------------------------------------
def cudnn_attention_is_default(torch_version: str, capability: tuple[int, int] | None, cudnn_version: int | None) -> bool:
    """Whether PyTorch itself picks cuDNN attention first here: from 2.9 on, on sm90/sm100, with cuDNN
    newer than 9.15.0 (``check_prefer_cudnn_attention`` in ATen's sdp_utils.cpp). Older builds made it
    opt-in after wrong results in 2.5 (pytorch/pytorch#138522), so it is no candidate there."""
    major, minor = (int(x) for x in torch_version.split("+")[0].split(".")[:2])
    return ((major, minor) >= (2, 9) and capability is not None and capability[0] in (9, 10)
            and cudnn_version is not None and cudnn_version > 91500)


class Kernel(NamedTuple):
    """How a step attends: ``backend``, the SDPA backend its attention is pinned to (None: PyTorch's
    choice), and ``windows``: whether the row and conv layers of image steps read only their key
    windows (``Rudolph.step(window_from=...)``, attention over two cache ranges in place)."""
    backend: object
    windows: bool


def attention_kernels(device: torch.device, part: str = "image") -> dict[str, Kernel]:
    """The attention kernels a captured step may be pinned to, by name. On CUDA: memory-efficient, math,
    and cuDNN where it is PyTorch's default (flash takes no mask, so it is none); on CPU: math and flash.
    For image steps also ``windows``: the windowed layers over their ranges, the others on the
    reference kernel."""
    from torch.nn.attention import SDPBackend

    if device.type != "cuda":
        backends = {"math": SDPBackend.MATH, "flash": SDPBackend.FLASH_ATTENTION}
    else:
        backends = {"efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}
        capability = torch.cuda.get_device_capability(device)
        if cudnn_attention_is_default(torch.__version__, capability, torch.backends.cudnn.version()):
            backends["cudnn"] = SDPBackend.CUDNN_ATTENTION
    kernels = {name: Kernel(backend, False) for name, backend in backends.items()}
    if part == "image":
        kernels["windows"] = Kernel(backends[REFERENCE_KERNEL["cuda" if device.type == "cuda" else "cpu"]], True)
    return kernels


def pinned(backend):
    """A fresh context for every ``with``: ``sdpa_kernel`` is a generator context manager, good for one entry."""
    if backend is None:
        return nullcontext()
    from torch.nn.attention import sdpa_kernel

    return sdpa_kernel([backend])


def choose_kernel(times_ms: dict[str, list[float]], matches: dict[str, bool]) -> str:
    """The kernel of smallest median time among those whose output matched the reference's."""
    eligible = [name for name in times_ms if matches.get(name)]
    if not eligible:
        raise RuntimeError("no attention kernel matched the reference")
    return min(eligible, key=lambda name: statistics.median(times_ms[name]))


# -- one decode step on fixed buffers -----------------------------------------------------------------
class Shape(NamedTuple):
    part: str
    rows: int
    keys: int  # the bucket's key end; its queries stand in [bucket_start(keys), keys) of the part

    def __str__(self) -> str:
        return f"{self.part} x{self.rows} keys {self.keys}"


class StaticStep:
    """One decode step of ``shape`` on the engine's buffers ``tokens (rows,)`` and ``pos (rows,)``: logits
    ``(rows, V)`` out, ``pos`` advanced by one. Replays its CUDA graph once ``install`` got one, else runs
    eagerly on the same buffers. With ``window_from`` (the first position of its bucket) the windowed
    layers read only their key windows; it is set by the kernel the step runs with."""

    def __init__(self, model: Rudolph, cache: KVCache, shape: Shape, tokens: torch.Tensor, pos: torch.Tensor,
                 bucket: int = KEY_BUCKET, kernel: Kernel | None = None):
        self.model, self.cache, self.shape, self.bucket = model, cache, shape, bucket
        self.tokens, self.pos = tokens, pos
        self.window_from = self.windows_from(kernel)  # what eager runs use
        self.logits: torch.Tensor | None = None
        self.graph = None

    @property
    def safe_position(self) -> int:
        """The part's last position: a slot no query reads before a step writes it (no decoding loop
        queries it), where warm-up and capture may write."""
        return self.model.config.parts[self.shape.part][1] - 1

    def run(self, window_from: int | None = None) -> torch.Tensor:
        logits = self.model.step(self.tokens, self.pos, self.cache, self.shape.part, self.shape.keys, window_from)
        self.pos.add_(1)
        return logits

    def keys_read(self) -> int:
        """Cache positions this step reads, summed over the layers (keys; values as many again)."""
        ranges = self.model.step_key_ranges(self.shape.part, self.shape.keys, self.window_from)
        return sum(b - a for kind in self.model.transformer.layer_mask_kinds for a, b in ranges[kind])

    def windows_from(self, kernel: Kernel | None) -> int | None:
        """Where the windows of this step start under ``kernel`` (None: every layer reads ``[0, keys)``)."""
        if kernel is None or not kernel.windows:
            return None
        return max(self.model.config.parts[self.shape.part][0], bucket_start(self.shape.keys, self.bucket))

    def capture(self, kernel: Kernel | None = None):
        """A CUDA graph of the step (attention as ``kernel`` says, if given) and the logits tensor it
        writes. Warm-up and capture write at ``safe_position``; ``pos`` is given back as it was."""
        backend, window_from = None if kernel is None else kernel.backend, self.windows_from(kernel)
        saved = self.pos.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), pinned(backend):
            for _ in range(2):
                self.pos.fill_(self.safe_position)
                self.run(window_from)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        self.pos.fill_(self.safe_position)
        with pinned(backend), torch.cuda.graph(graph):
            logits = self.run(window_from)
        self.pos.copy_(saved)
        return graph, logits

    def install(self, graph, logits, kernel: Kernel | None = None) -> None:
        self.graph, self.logits, self.window_from = graph, logits, self.windows_from(kernel)

    def replay_at_safe_position(self) -> None:
        self.pos.fill_(self.safe_position)
        self.graph.replay()

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        self.tokens.copy_(tokens)
        if self.graph is not None:
            self.graph.replay()
        else:
            self.logits = self.run(self.window_from)
        return self.logits


class DecodeEngine:
    """Static decoding state kept across batches: one zeroed KV cache of ``max_batch`` rows, token and
    position buffers per (part, rows), and one ``StaticStep`` per (part, rows, key bucket), all over
    views of that cache. With ``use_graphs`` (default: on CUDA) each step is captured as a CUDA graph,
    its attention as the kernel measured fastest for that part and row count (an SDPA backend, or the
    image layers' key windows); a shape whose capture fails runs eagerly (said once on stderr, listed by
    ``status()``). Eager steps read the key windows when ``windows`` is on (the default)."""

    def __init__(self, model: Rudolph, max_batch: int, use_graphs: bool | None = None, key_bucket: int = KEY_BUCKET,
                 windows: bool = True):
        self.model, self.max_batch, self.key_bucket, self.windows = model, max_batch, key_bucket, windows
        self.cache = model.new_cache(max_batch)
        self.device = self.cache.keys.device
        self.use_graphs = self.device.type == "cuda" if use_graphs is None else use_graphs
        self.buffers: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self.steps: dict[Shape, StaticStep] = {}
        self.kernels: dict[tuple[str, int], str | None] = {}  # chosen per (part, rows); None: none could be
        self.kernel_ms: dict[tuple[str, int], dict[str, float]] = {}  # median ms per replay, per kernel
        self.fell_back: dict[Shape, str] = {}

    @classmethod
    def for_decoding(cls, model: Rudolph, max_batch: int, decoding: str) -> DecodeEngine | None:
        """The engine a decoding mode runs on; None for the modes without a static cache."""
        if decoding not in DECODING_MODES:
            raise ValueError(f"unknown decoding {decoding!r}; expected one of {DECODING_MODES}")
        if decoding in ("full", "cached"):
            return None
        return cls(model, max_batch, use_graphs=None if decoding == "graph" else False)

    def step_buffers(self, part: str, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``tokens`` and ``pos`` buffers shared by every key bucket of (part, rows)."""
        if rows > self.max_batch:
            raise ValueError(f"{rows} rows do not fit the engine's cache of {self.max_batch}")
        if (part, rows) not in self.buffers:
            self.buffers[part, rows] = (torch.zeros(rows, dtype=torch.long, device=self.device),
                                        torch.zeros(rows, dtype=torch.long, device=self.device))
        return self.buffers[part, rows]

    def step(self, part: str, rows: int, position: int) -> StaticStep:
        """The step of ``rows`` rows of ``part`` whose queries stand at ``position`` (at most)."""
        shape = Shape(part, rows, key_end(position, self.key_bucket, self.model.config.seq_length))
        if shape not in self.steps:
            eager = Kernel(None, self.windows)
            step = StaticStep(self.model, self.cache.rows(0, rows), shape, *self.step_buffers(part, rows),
                              self.key_bucket, eager)
            self.steps[shape] = step
            if self.use_graphs:
                self._capture(step)
        return self.steps[shape]

    def prepared(self, part: str, rows: int) -> bool:
        """Whether every key bucket's step of (part, rows) exists (and is captured where graphs are on)."""
        return all(Shape(part, rows, keys) in self.steps for keys in self.key_ends(part))

    def prepare(self, part: str, rows: int) -> None:
        """Every step a decode of ``part`` with ``rows`` rows will meet, one per key bucket, built (and
        captured) now: a one-off cost the time budget keeps apart from the rates."""
        start, _ = self.model.config.parts[part]
        for keys in self.key_ends(part):
            self.step(part, rows, max(start, keys - 1))

    def key_ends(self, part: str) -> list[int]:
        """The key buckets the queries of ``part`` stand in."""
        start, end = self.model.config.parts[part]
        seq = self.model.config.seq_length
        return sorted({key_end(p, self.key_bucket, seq) for p in range(start, end)})

    def _capture(self, step: StaticStep) -> None:
        part, rows = step.shape.part, step.shape.rows
        try:
            if (part, rows) not in self.kernels:
                self._choose_kernel(part, rows)
            kernel = attention_kernels(self.device, part).get(self.kernels[part, rows], Kernel(None, False))
            step.install(*step.capture(kernel), kernel)
        except Exception as e:  # noqa: BLE001 - any capture problem means: this shape runs eagerly
            step.graph = None
            reason = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
            if not self.fell_back:
                print(f"decoding: CUDA graph capture failed for {step.shape} ({reason}); that shape runs "
                      "eagerly (the run's summary lists every such shape)", file=sys.stderr)
            self.fell_back[step.shape] = reason

    def _choose_kernel(self, part: str, rows: int) -> None:
        """Time every candidate kernel at this row count, at the part's longest key bucket (the step
        that reads the most): each captured, warmed up by ``WARMUP_MS`` of replays, then timed in
        interleaved rounds; eligible only when its logits match the reference kernel's."""
        self.kernels[part, rows] = None
        last_query = self.model.config.parts[part][1] - 1
        shape = Shape(part, rows, key_end(last_query, self.key_bucket, self.model.config.seq_length))
        timed = StaticStep(self.model, self.cache.rows(0, rows), shape, *self.step_buffers(part, rows),
                           self.key_bucket)
        saved = timed.pos.clone()
        graphs = {}
        for name, kernel in attention_kernels(self.device, part).items():
            try:
                graphs[name] = timed.capture(kernel)
            except Exception:  # noqa: BLE001 - a kernel that cannot run these shapes is no candidate
                continue
        if not graphs:
            raise RuntimeError("no attention kernel could be captured")

        def replay(name: str, times: int) -> None:
            graph = graphs[name][0]
            for _ in range(times):
                timed.pos.fill_(timed.safe_position)  # each replay advances pos: start again where it may write
                graph.replay()

        outputs = {}
        for name in graphs:
            replay(name, 1)
            outputs[name] = graphs[name][1].float().clone()
        reference = outputs.get(REFERENCE_KERNEL.get(self.device.type), next(iter(outputs.values())))
        tolerance = FP16_TOLERANCE * (1 + float(reference.abs().max()))
        matches = {name: bool((out - reference).abs().max() <= tolerance) for name, out in outputs.items()}
        start = time.perf_counter()
        while (time.perf_counter() - start) * 1000 < WARMUP_MS:
            for name in graphs:
                replay(name, 1)
            torch.cuda.synchronize()
        times = {name: [] for name in graphs}
        for _ in range(TIMING_ROUNDS):
            for name in graphs:
                begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                begin.record()
                replay(name, REPLAYS_PER_ROUND)
                end.record()
                end.synchronize()
                times[name].append(begin.elapsed_time(end) / REPLAYS_PER_ROUND)
        timed.pos.copy_(saved)
        self.kernel_ms[part, rows] = {name: statistics.median(t) for name, t in times.items()}
        self.kernels[part, rows] = choose_kernel(times, matches)

    def status(self) -> dict:
        """What the run's summary says about decoding: whether graphs are in use, how many were captured,
        the kernel chosen and the median ms per replay of every kernel timed, per (part, rows), and the
        shapes that fell back to eager steps (with the reason)."""
        return {
            "graphs": self.use_graphs,
            "captured": sum(step.graph is not None for step in self.steps.values()),
            "kernels": {f"{part} x{rows}": kernel for (part, rows), kernel in self.kernels.items()},
            "kernel_ms": {f"{part} x{rows}": {k: round(v, 3) for k, v in ms.items()}
                          for (part, rows), ms in self.kernel_ms.items()},
            "fell_back": {str(shape): reason for shape, reason in self.fell_back.items()},
        }


def format_status(status: dict | None) -> str:
    """One summary line for ``DecodeEngine.status()``."""
    if status is None:
        return "decoding: no static engine (cached steps)"
    if not status["graphs"]:
        return "decoding: static steps, no CUDA graphs"
    kernels = ", ".join(f"{shape} {kernel}" for shape, kernel in status["kernels"].items()) or "none chosen"
    line = f"decoding: {status['captured']} CUDA graphs; attention kernel by shape: {kernels}"
    if status["fell_back"]:
        line += f"; {len(status['fell_back'])} shape(s) fell back to eager steps: " + ", ".join(status["fell_back"])
    return line


# -- decoders -------------------------------------------------------------------------------------------
class Decoder(Protocol):
    """Feeds a growing sequence to the model: ``start(prefix)`` and ``push(tokens)`` return the next
    logits ``(b, V)``; ``keep(index)`` drops every row but ``index`` and returns the rows it now holds
    (``index`` first, then copies of ``index[0]`` where a decoder needs a fixed number of rows)."""

    def start(self, prefix: torch.Tensor) -> torch.Tensor: ...

    def push(self, tokens: torch.Tensor) -> torch.Tensor: ...

    def keep(self, index: torch.Tensor) -> torch.Tensor: ...


class FullRecompute:
    """The reference: the whole sequence recomputed at every step."""

    def __init__(self, model: Rudolph):
        self.model = model

    def start(self, prefix: torch.Tensor) -> torch.Tensor:
        self.ids = prefix
        return self.model(prefix)[:, -1]

    def push(self, tokens: torch.Tensor) -> torch.Tensor:
        self.ids = torch.cat([self.ids, tokens[:, None]], dim=1)
        return self.model(self.ids)[:, -1]

    def keep(self, index: torch.Tensor) -> torch.Tensor:
        self.ids = self.ids.index_select(0, index)
        return index


class CachedDecoder:
    """A KV cache grown by slicing: each step computes the new token over the keys written so far."""

    def __init__(self, model: Rudolph):
        self.model = model

    def start(self, prefix: torch.Tensor) -> torch.Tensor:
        self.cache = self.model.new_cache(prefix.shape[0])
        return self.model(prefix, self.cache, last_only=True)[:, -1]

    def push(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model(tokens[:, None], self.cache, last_only=True)[:, -1]

    def keep(self, index: torch.Tensor) -> torch.Tensor:
        self.cache = self.cache.keep(index)
        return index


class StaticDecoder:
    """Prefill through ``forward`` into the engine's cache, then ``StaticStep``s: every row stands at the
    same position, a Python number kept here, which picks the key bucket of each step. Shrinking goes to
    a power of two of rows, so that few step shapes (and CUDA graphs) are ever needed."""

    def __init__(self, model: Rudolph, part: str, engine: DecodeEngine):
        self.model, self.part, self.engine = model, part, engine

    def start(self, prefix: torch.Tensor) -> torch.Tensor:
        self.rows, self.position = prefix.shape
        self.engine.step(self.part, self.rows, self.position)  # the first capture before the prefill
        cache = self.engine.cache.rows(0, self.rows)
        cache.length = 0
        logits = self.model(prefix, cache, last_only=True)[:, -1]
        self.engine.step_buffers(self.part, self.rows)[1].fill_(self.position)
        return logits

    def push(self, tokens: torch.Tensor) -> torch.Tensor:
        logits = self.engine.step(self.part, self.rows, self.position)(tokens)
        self.position += 1
        return logits

    def keep(self, index: torch.Tensor) -> torch.Tensor:
        rows = 1 << (index.shape[0] - 1).bit_length()  # the next power of two
        index = torch.cat([index, index[:1].expand(rows - index.shape[0])])
        self.engine.cache.keep(index)
        self.rows = rows
        self.engine.step_buffers(self.part, rows)[1].fill_(self.position)
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


def row_seeds(sampling: Sampling, seeds: torch.Tensor | None, rows: int, device: torch.device) -> torch.Tensor | None:
    """The seeds a loop samples with, checked before any work: None when greedy, else ``(rows,)`` on ``device``."""
    if sampling.greedy:
        return None
    if seeds is None or tuple(seeds.shape) != (rows,):
        got = "none" if seeds is None else f"shape {tuple(seeds.shape)}"
        raise ValueError(f"sampled decoding needs seeds: a ({rows},) int64 tensor of row seeds (see row_seed); got {got}")
    return seeds.to(device)


# -- loops ------------------------------------------------------------------------------------------------
@torch.no_grad()
def generate_image_tokens(model: Rudolph, left_ids: torch.Tensor, sampling: Sampling = BASELINE_IMAGE_SAMPLING, *,
                          seeds: torch.Tensor | None = None, decoding: str = "cached",
                          engine: DecodeEngine | None = None, progress=None, steps: int | None = None) -> torch.Tensor:
    """``(b, m*m)`` image ids (0..image_vocab_size-1) generated after the left text ``(b, l)``.

    Image special tokens are never sampled. ``seeds (b,)`` (int64, see ``row_seed``) are the rows' noise
    streams when sampling (required then; greedy ignores them): token ``t`` of a row depends on its seed
    and its own logits only. ``progress`` is an optional callable(step) per token; ``steps`` stops after
    the first ``steps`` tokens (benchmarks and checks).
    """
    c = model.config
    lo, hi = c.text_vocab, c.text_vocab + c.image_vocab_size
    b, n = left_ids.shape[0], min(steps or c.image_seq_length, c.image_seq_length)
    seeds = row_seeds(sampling, seeds, b, left_ids.device)
    decoder = make_decoder(model, "image", decoding, engine, b)
    logits = decoder.start(left_ids)
    tokens = torch.empty(b, n, dtype=torch.long, device=left_ids.device)
    for step in range(n):
        token = sample_next(logits[:, lo:hi], sampling, seeds, step)
        tokens[:, step] = token
        if progress is not None:
            progress(step)
        if step < n - 1:
            logits = decoder.push(token)
    return tokens


@torch.no_grad()
def generate_right_text(model: Rudolph, left_ids: torch.Tensor, image_ids: torch.Tensor, right_prefix: torch.Tensor,
                        sampling: Sampling = GREEDY, max_new_tokens: int | None = None, *,
                        seeds: torch.Tensor | None = None, decoding: str = "cached",
                        engine: DecodeEngine | None = None, check_every: int | None = None,
                        progress=None) -> list[list[int]]:
    """Right-text ids generated after ``[left | image | right_prefix]``, cut before the first eos.

    ``right_prefix`` is ``(b, k)``, usually ``[bos, <RT_UNK>]``. ``seeds (b,)`` as for
    ``generate_image_tokens`` (a row's draws follow it when the batch shrinks). A sampled pad-position id
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
    seeds = row_seeds(sampling, seeds, b, device)
    decoder = make_decoder(model, "right", decoding, engine, b)
    logits = decoder.start(torch.cat([left_ids, image_ids, right_prefix], dim=1))
    out = torch.full((b + 1, max(max_new_tokens, 1)), EOS_ID, dtype=torch.long, device=device)  # row b: scratch
    rows = torch.arange(b, device=device)  # the output row of every decoder row
    finished = torch.zeros(b, dtype=torch.bool, device=device)
    for step in range(max_new_tokens):
        token = torch.where(finished, EOS_ID, sample_next(logits[:, :c.text_vocab], sampling, seeds, step))
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
                seeds = seeds.index_select(0, kept) if seeds is not None else None
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
    """``(n, r)`` log-probability of every candidate token given everything before it (0 past a
    candidate's last real token: each pass computes its candidates up to the longest of them only)."""
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
    # Real length of every sample's longest candidate: up to its last non-pad token.
    real = (packed != 0).any(dim=1)  # (b, r)
    longest = torch.where(real, torch.arange(1, r + 1, device=right_ids.device), 0).amax(dim=1).clamp(min=1).tolist()
    logp = torch.zeros(b, k, r, device=right_ids.device)
    group = max(1, max_tokens // (k * max(longest)))
    for i in range(0, b, group):
        n = max(longest[i:i + group])  # the tokens this pass computes per candidate
        ids = packed[i:i + group, :, :n]  # (g, k, n)
        g = ids.shape[0]
        positions = torch.arange(n, device=right_ids.device).repeat(k)
        x = model.embed_part("right", ids.reshape(g, k * n), positions)  # (g, k, n) -> (g, k*n, h)
        hidden = model.transformer(x, model.transformer.mask_rows_candidates(k, n), CandidateKV(cache.rows(i, i + g)))
        # (g, k*n, V) -> (g, k, n, V) -> (g, k, n-1, V): position t predicts t + 1
        logits = model.text_logits(hidden).view(g, k, n, -1)[:, :, :-1].float()
        logp[i:i + g, :, 1:n] = logits.log_softmax(-1).gather(-1, ids[:, :, 1:, None]).squeeze(-1)
        logp[i:i + g, :, 0] = last[i:i + g].gather(-1, ids[:, :, 0])
    return logp[owner, slot]


@torch.no_grad()
def score_image_tokens(model: Rudolph, left_ids: torch.Tensor, image_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-likelihood of images given their left texts: ``left_ids (b, l)``, ``image_ids (b, m*m)``
    (0..image_vocab_size-1, as ``generate_image_tokens`` gives them). Every image token is scored given
    the left text and the image tokens before it, over the image vocabulary without its special tokens
    (what generation samples from), in one forward pass over ``[left | image]``. Returns the summed
    log-probability ``(b,)`` and the number of scored tokens ``(b,)``, as ``score_right_texts``."""
    c = model.config
    lo, hi = c.text_vocab, c.text_vocab + c.image_vocab_size
    ids = torch.cat([left_ids, image_ids[:, :-1]], dim=1)  # the last image token predicts nothing scored
    hidden = model.transformer(model.embed(ids), model.transformer.mask_rows(0, ids.shape[1]))
    logits = model.head_columns(hidden[:, left_ids.shape[1] - 1:], lo, hi)  # (b, m*m, V_img)
    token_logp = logits.float().log_softmax(-1).gather(-1, image_ids[..., None]).squeeze(-1)
    count = torch.full((image_ids.shape[0],), image_ids.shape[1], dtype=torch.long, device=image_ids.device)
    return token_logp.sum(dim=1), count
