#!/usr/bin/env python3
"""Generation speed of RUDOLPH: cached decoding against the reference-style full recomputation.

Random weights at a chosen configuration (speed does not depend on the values). Right-text
generation runs all positions (eos is suppressed) so both paths do the same number of steps;
image generation compares the first --image-steps tokens. Prints tokens per second, the ratio
measured in this run, and peak memory.

  python scripts/bench_generation.py                       # 350M shapes, 6 layers, CPU
  python scripts/bench_generation.py --config 2.7B --layers 0 --device cuda --dtype fp16
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
from solution.rudolph import GREEDY, build_model, generate_image_tokens, generate_right_text, get_config  # noqa: E402

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def timed(fn, device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="350M", help="registry name (default 350M)")
    p.add_argument("--layers", type=int, default=6, help="override the number of layers (0 = as published; default 6)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--image-steps", type=int, default=32, help="image tokens timed on both paths (default 32)")
    p.add_argument("--full-image", action="store_true", help="also time a whole cached image (m*m tokens)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    config = get_config(args.config)
    if args.layers:
        config = dataclasses.replace(config, num_layers=args.layers)
    torch.manual_seed(0)
    model = build_model(config).to(device=device, dtype=DTYPES[args.dtype]).eval()
    c = model.config
    with torch.no_grad():  # let greedy right text run to the end on both paths
        model.to_logits[1].bias[3] = -1e4
        model.to_logits[1].bias[c.text_vocab - c.l_text_seq_length:c.text_vocab] = -1e4
    b = args.batch
    n_params = sum(p.numel() for p in model.parameters())
    print(f"config {args.config}: {c.num_layers} layers, hidden {c.hidden_size}, sequence {c.seq_length} "
          f"({c.l_text_seq_length}+{c.image_seq_length}+{c.r_text_seq_length}), {n_params / 1e6:.0f}M params, "
          f"{args.dtype} on {device}, batch {b}, {torch.get_num_threads()} CPU threads")

    left = torch.randint(4, c.vocab_size, (b, c.l_text_seq_length), device=device)
    image = torch.randint(0, c.image_vocab_size, (b, c.image_seq_length), device=device)
    prefix = torch.tensor([[2, c.vocab_size]] * b, device=device)

    # Image tokens: the first K steps on both paths (a truncated image sequence).
    steps = min(args.image_steps, c.image_seq_length)
    results = {}
    for use_cache in (True, False):
        counter = {"n": 0}

        class Stop(Exception):
            pass

        def progress(step, counter=counter):
            counter["n"] = step + 1
            if step + 1 >= steps:
                raise Stop

        def run(use_cache=use_cache, progress=progress):
            try:
                generate_image_tokens(model, left, GREEDY, use_cache=use_cache, progress=progress)
            except Stop:
                pass

        _, seconds = timed(run, device)
        results[("image", use_cache)] = b * counter["n"] / seconds
    for use_cache in (True, False):
        out, seconds = timed(lambda use_cache=use_cache: generate_right_text(
            model, left, image, prefix, GREEDY, use_cache=use_cache), device)
        results[("right", use_cache)] = sum(len(t) for t in out) / seconds

    print(f"{'phase':<34}{'cached tok/s':>14}{'full tok/s':>14}{'ratio':>9}")
    for phase, label in (("image", f"image tokens (first {steps})"), ("right", f"right text ({c.r_text_seq_length - 2} tokens)")):
        cached, full = results[(phase, True)], results[(phase, False)]
        print(f"{label:<34}{cached:>14.1f}{full:>14.1f}{cached / full:>8.1f}x")
    if args.full_image:
        _, seconds = timed(lambda: generate_image_tokens(model, left, GREEDY), device)
        print(f"whole image, cached: {b * c.image_seq_length / seconds:.1f} tok/s ({seconds:.1f} s per batch)")
    print(f"peak memory: {peak_memory_mb(device):.0f} MB ({'CUDA allocated' if device.type == 'cuda' else 'process RSS'})")


if __name__ == "__main__":
    main()
