#!/usr/bin/env python3
"""Decoding speed of RUDOLPH per decoding mode and batch size, against the weight-read floor.

Random weights at a chosen configuration (speed does not depend on the values), built directly on
the device in the chosen dtype. For every batch size and decoding mode it times the first
``--image-steps`` image tokens and ``--right-steps`` right-text tokens (eos suppressed, so every
mode does the same steps) and prints milliseconds per decode step, tokens per second and peak
memory. The floor is what reading every weight once per step costs: bytes of parameters divided by
the device's copy bandwidth measured in this run (read plus write); a step can hardly be faster.

Modes (solution/rudolph/generation.py): ``full`` recomputes the prefix (the reference), ``cached``
slices a KV cache, ``static`` runs fixed-shape steps eagerly, ``graph`` replays them as CUDA graphs
(eager on CPU).

``--figures`` prints what scripts/gpu_check.sh needs instead: one image and one right-text step at
each ``--batch`` row count, eager static against graph replay (CUDA events), the attention kernel
chosen and every kernel's time, the bandwidth achieved (weights plus the KV bytes the step reads,
over its time); baseline sampling at (64, 8192) under ``torch.cuda.set_sync_debug_mode("warn")``;
one whole image batch at the largest row count with its peak memory; the prefill of that many
prefixes. ``--cuda-standin`` runs the graph path on CPU through the test suite's stand-in (the
rehearsal).

  .venv/bin/python scripts/bench_generation.py                         # 350M shapes, 6 layers, CPU
  python3 scripts/bench_generation.py --config 2.7B-FBC2 --layers 0 --device cuda --dtype fp16 \\
      --batch 8,26,64 --modes cached,static,graph --check-greedy
  python3 scripts/bench_generation.py --config 2.7B-FBC2 --layers 0 --device cuda --dtype fp16 \\
      --batch 1,8,64 --figures
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fbc2_io.console import make_console_safe  # noqa: E402
from solution.rudolph import (  # noqa: E402
    BASELINE_IMAGE_SAMPLING,
    DECODING_MODES,
    DTYPES,
    GREEDY,
    DecodeEngine,
    build_model,
    generate_image_tokens,
    generate_right_text,
    get_config,
    sample_next,
)
from solution.rudolph.generation import format_status  # noqa: E402

MODES = DECODING_MODES


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def copy_bandwidth(device, nbytes: int = 2**30) -> float:
    """Bytes per second that a device-to-device copy moves, read plus write (best of 5)."""
    src = torch.empty(nbytes // 2, dtype=torch.float16, device=device)
    dst = torch.empty_like(src)
    best = float("inf")
    for _ in range(5):
        sync(device)
        t0 = time.perf_counter()
        dst.copy_(src)
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * nbytes / best


def random_model(config, device, dtype):
    """Random weights made on the device in ``dtype`` (no fp32 copy on the host)."""
    torch.manual_seed(0)
    model = build_model(config, device, dtype).eval()
    c = model.config
    with torch.no_grad():  # greedy right text never stops early: every mode does the same steps
        model.to_logits[1].bias[3] = -1e4
        model.to_logits[1].bias[c.pad_position_start:c.text_vocab] = -1e4
    return model


class StepClock:
    """A progress callback that times steps 1..``last`` (the prefill, and any capture made at the first
    call, stay outside). It waits for the device only at those two steps: the decoding loops never
    wait for it per token, and the clock must not add such a wait."""

    def __init__(self, device, last: int):
        self.device, self.last, self.marks = device, last, {}

    def __call__(self, step: int) -> None:
        if step in (0, self.last):
            sync(self.device)
            self.marks[step] = time.perf_counter()

    def per_step(self) -> float:
        return (self.marks[self.last] - self.marks[0]) / self.last


def measure(model, mode, engine, inputs, image_steps, right_steps, device):
    """Seconds per image step and per right-text step, and the ids made (``steps + 1`` tokens each)."""
    left, image, prefix = inputs
    generate_image_tokens(model, left, GREEDY, decoding=mode, engine=engine, steps=3)  # warm-up, capture
    generate_right_text(model, left, image, prefix, GREEDY, max_new_tokens=3, decoding=mode, engine=engine)
    image_clock, right_clock = StepClock(device, image_steps), StepClock(device, right_steps)
    ids = generate_image_tokens(model, left, GREEDY, decoding=mode, engine=engine, steps=image_steps + 1,
                                progress=image_clock)
    texts = generate_right_text(model, left, image, prefix, GREEDY, max_new_tokens=right_steps + 1,
                                decoding=mode, engine=engine, progress=right_clock)
    return image_clock.per_step(), right_clock.per_step(), ids, texts


def event_ms(device, fn, repeats: int) -> float:
    """Milliseconds per call of ``fn``: CUDA events on a GPU (and under the stand-in), the host clock on CPU."""
    if device.type == "cuda" or getattr(torch.cuda.Event, "standin", False):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        for _ in range(repeats):
            fn()
        end.record()
        end.synchronize()
        return begin.elapsed_time(end) / repeats
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) * 1000 / repeats


def step_figures(model, rows_list, device, param_bytes: int, repeats: int) -> None:
    """One image step (mid-image) and one right-text step per row count: eager static vs graph replay."""
    c = model.config
    positions = {"image": c.parts["image"][0] + c.image_seq_length // 2, "right": c.parts["right"][0] + 2}
    element = model.text_embeddings.weight.element_size()
    print(f"{'rows':>4} {'part':<6}{'keys':>6} {'mode':<8}{'ms/step':>9}{'tok/s':>9}{'GB read':>9}{'GB/s':>8}")
    for rows in rows_list:
        for graphs, windows in ((False, False), (False, True), (True, True)):
            engine = DecodeEngine(model, rows, use_graphs=graphs, windows=windows)
            for part, position in positions.items():
                if part != "image" and windows and not graphs:
                    continue  # windows change image steps only
                step = engine.step(part, rows, position)
                tokens = torch.zeros(rows, dtype=torch.long, device=device)

                def one(step=step, position=position, tokens=tokens):
                    step.pos.fill_(position)
                    step(tokens)

                one()
                sync(device)
                ms = event_ms(device, one, repeats)
                read = param_bytes + 2 * rows * step.keys_read() * c.hidden_size * element  # weights, keys and values
                mode = "graph" if graphs else "windows" if windows else "eager"
                keys = step.keys_read() // c.num_layers
                print(f"{rows:>4} {part:<6}{keys:>6} {mode:<8}{ms:>9.3f}"
                      f"{rows / ms * 1000:>9.0f}{read / 1e9:>9.2f}{read / ms / 1e6:>8.0f}")
            if graphs:
                print(f"     {format_status(engine.status())}")
                for shape, times in engine.status()["kernel_ms"].items():
                    print(f"     kernels timed for {shape}: " + ", ".join(f"{k} {v:.3f} ms" for k, v in times.items()))
            del engine
            if device.type == "cuda":
                torch.cuda.empty_cache()


def sampling_figure(device, rows: int = 64, vocab: int = 8192) -> None:
    """Baseline image sampling at (rows, vocab): ms per call, and whether it synchronised with the host."""
    logits = torch.randn(rows, vocab, device=device, dtype=torch.float16)
    seeds = torch.arange(rows, device=device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if device.type == "cuda":
            torch.cuda.set_sync_debug_mode("warn")
        try:
            step = iter(range(10**9))
            sample_next(logits, BASELINE_IMAGE_SAMPLING, seeds, next(step))
            sync(device)
            ms = event_ms(device, lambda: sample_next(logits, BASELINE_IMAGE_SAMPLING, seeds, next(step)), 20)
        finally:
            if device.type == "cuda":
                torch.cuda.set_sync_debug_mode(0)
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    checked = "checked by set_sync_debug_mode" if device.type == "cuda" else "not checkable on CPU"
    print(f"baseline sampling ({rows}, {vocab}): {ms:.3f} ms per call; host syncs: {len(syncs)} ({checked})")


def batch_figures(model, rows: int, device) -> None:
    """One whole sampled image batch of ``rows`` on graphs (peak memory), and the prefill of ``rows`` prefixes."""
    c = model.config
    g = torch.Generator().manual_seed(rows)
    left = torch.randint(4, c.vocab_size, (rows, c.l_text_seq_length), generator=g).to(device)
    engine = DecodeEngine(model, rows, use_graphs=True)
    seeds = torch.arange(rows, device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    generate_image_tokens(model, left, BASELINE_IMAGE_SAMPLING, seeds=seeds, decoding="graph", engine=engine, steps=2)
    sync(device)
    t0 = time.perf_counter()
    generate_image_tokens(model, left, BASELINE_IMAGE_SAMPLING, seeds=seeds, decoding="graph", engine=engine)
    sync(device)
    seconds = time.perf_counter() - t0
    print(f"image batch of {rows}: {c.image_seq_length} tokens in {seconds:.2f} s, "
          f"{rows * c.image_seq_length / seconds:.0f} image tokens/s, peak memory {peak_memory_mb(device):.0f} MB")
    prefix = torch.cat([left, torch.randint(0, c.image_seq_length, (rows, c.image_seq_length), generator=g).to(device),
                        torch.tensor([[2, c.vocab_size]] * rows, device=device)], dim=1)
    cache = engine.cache.rows(0, rows)

    def prefill():
        cache.length = 0
        model(prefix, cache, last_only=True)

    with torch.no_grad():
        prefill()
        sync(device)
        ms = event_ms(device, prefill, 3)
    print(f"prefill of {rows} x {prefix.shape[1]} tokens: {ms:.1f} ms ({rows * prefix.shape[1] / ms * 1000:.0f} tokens/s)")


def install_cuda_standin() -> None:
    """The test suite's CPU stand-in for CUDA graphs (tests/helpers/cuda_standin.py), for the rehearsal."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from helpers.cuda_standin import CudaStandin

    class Patch:
        def setattr(self, target, name, value):
            setattr(target, name, value)

    CudaStandin().install(Patch())
    torch.cuda.Event.standin = True
    # The stand-in proves the logic, not the speed: one short round of kernel timing is enough.
    from solution.rudolph import generation

    generation.WARMUP_MS, generation.TIMING_ROUNDS, generation.REPLAYS_PER_ROUND = 1.0, 1, 2


def main(argv=None) -> None:
    make_console_safe()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="350M", help="registry name (default 350M)")
    p.add_argument("--layers", type=int, default=6, help="override the number of layers (0 = as published; default 6)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    p.add_argument("--batch", default="4", help="batch sizes, comma-separated (default 4)")
    p.add_argument("--modes", default="", help=f"decoding modes, comma-separated, of {', '.join(MODES)} "
                   "(default: cached,static on CPU; cached,static,graph on CUDA)")
    p.add_argument("--image-steps", type=int, default=32, help="image steps timed (default 32)")
    p.add_argument("--right-steps", type=int, default=0, help="right-text steps timed (default: all of them)")
    p.add_argument("--check-greedy", action="store_true",
                   help="compare each mode's greedy ids with the first mode's (the timed image and right tokens)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--figures", action="store_true", help="the figures of scripts/gpu_check.sh (see above)")
    p.add_argument("--repeats", type=int, default=20, help="steps timed per figure (default 20)")
    p.add_argument("--cuda-standin", action="store_true", help="CUDA graphs through the CPU stand-in (rehearsal)")
    p.add_argument("--no-windows", action="store_true",
                   help="eager static steps read every key up to their bucket (default: the image layers' key windows)")
    args = p.parse_args(argv)
    if args.cuda_standin:
        install_cuda_standin()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = DTYPES[args.dtype]
    modes = [m for m in (args.modes or ("cached,static" if device.type == "cpu" else "cached,static,graph")).split(",")]
    unknown = set(modes) - set(MODES)
    if unknown:
        p.error(f"unknown mode(s) {sorted(unknown)}; choose from {', '.join(MODES)}")
    batches = [int(b) for b in args.batch.split(",")]
    config = get_config(args.config)
    if args.layers:
        config = dataclasses.replace(config, num_layers=args.layers)
    t0 = time.perf_counter()
    model = random_model(config, device, dtype)
    c = model.config
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    bandwidth = copy_bandwidth(device)
    floor_ms = param_bytes / bandwidth * 1000
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"config {args.config}: {c.num_layers} layers, hidden {c.hidden_size}, sequence {c.seq_length} "
          f"({c.l_text_seq_length}+{c.image_seq_length}+{c.r_text_seq_length}), {param_bytes / 1e9:.2f} GB of "
          f"{args.dtype} weights on {device} ({name}); built in {time.perf_counter() - t0:.1f} s")
    print(f"copy bandwidth {bandwidth / 1e12:.2f} TB/s (read + write): weight-read floor {floor_ms:.2f} ms per step")
    image_steps = min(args.image_steps, c.image_seq_length - 1)
    right_steps = min(args.right_steps or c.r_text_seq_length, c.r_text_seq_length - 2) - 1
    if args.figures:
        with torch.no_grad():
            step_figures(model, batches, device, param_bytes, args.repeats)
            sampling_figure(device)
            batch_figures(model, max(batches), device)
        return

    print(f"{'batch':>5} {'mode':<8}{'image ms/step':>14}{'image tok/s':>12}{'right ms/step':>14}"
          f"{'right tok/s':>12}{'x floor':>9}{'peak MB':>9}")
    for b in batches:
        g = torch.Generator().manual_seed(b)
        inputs = (torch.randint(4, c.vocab_size, (b, c.l_text_seq_length), generator=g).to(device),
                  torch.randint(0, c.image_vocab_size, (b, c.image_seq_length), generator=g).to(device),
                  torch.tensor([[2, c.vocab_size]] * b, device=device))
        reference = None
        for mode in modes:
            if device.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
            try:
                engine = DecodeEngine.for_decoding(model, b, mode)
                if engine is not None:
                    engine.windows = not args.no_windows
                image_s, right_s, ids, texts = measure(model, mode, engine, inputs, image_steps, right_steps, device)
            except Exception as e:  # noqa: BLE001 - one mode failing must not hide the others
                print(f"{b:>5} {mode:<8} failed: {type(e).__name__}: {str(e).splitlines()[0][:150] if str(e) else ''}")
                continue
            print(f"{b:>5} {mode:<8}{image_s * 1000:>14.2f}{b / image_s:>12.0f}{right_s * 1000:>14.2f}"
                  f"{b / right_s:>12.0f}{image_s * 1000 / floor_ms:>9.1f}{peak_memory_mb(device):>9.0f}")
            if engine is not None and engine.use_graphs:
                print(f"      {format_status(engine.status())}")
            if args.check_greedy:
                if reference is None:
                    reference = (mode, ids, texts)
                else:
                    same_image = int((ids == reference[1]).all(dim=1).sum())
                    same_right = sum(x == y for x, y in zip(texts, reference[2], strict=True))
                    print(f"      greedy ids equal to {reference[0]}'s: first {image_steps + 1} image tokens in "
                          f"{same_image}/{b} rows, first {right_steps + 1} right-text tokens in {same_right}/{b} rows")
            del engine


if __name__ == "__main__":
    main()
