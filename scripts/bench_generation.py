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
(eager on CPU), ``compile`` is the static step under torch.compile(mode="reduce-overhead").

  .venv/bin/python scripts/bench_generation.py                         # 350M shapes, 6 layers, CPU
  python3 scripts/bench_generation.py --config 2.7B-FBC2 --layers 0 --device cuda --dtype fp16 \\
      --batch 8,26,64 --modes cached,static,graph --check-greedy
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fbc2_io.console import make_console_safe  # noqa: E402
from solution.rudolph import (  # noqa: E402
    DTYPES,
    GREEDY,
    DecodeEngine,
    build_model,
    generate_image_tokens,
    generate_right_text,
    get_config,
)

MODES = ("full", "cached", "static", "graph", "compile")


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
    args = p.parse_args(argv)

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
                image_s, right_s, ids, texts = measure(model, mode, engine, inputs, image_steps, right_steps, device)
            except Exception as e:  # noqa: BLE001 - one mode failing must not hide the others
                print(f"{b:>5} {mode:<8} failed: {type(e).__name__}: {str(e).splitlines()[0][:150] if str(e) else ''}")
                continue
            print(f"{b:>5} {mode:<8}{image_s * 1000:>14.2f}{b / image_s:>12.0f}{right_s * 1000:>14.2f}"
                  f"{b / right_s:>12.0f}{image_s * 1000 / floor_ms:>9.1f}{peak_memory_mb(device):>9.0f}")
            if engine is not None and engine.backend_ms:
                kernels = ", ".join(f"{k} {v:.2f} ms" for k, v in engine.backend_ms.items())
                print(f"      attention kernels measured under the graph: {kernels}; chosen: {engine.backend[0]}")
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
