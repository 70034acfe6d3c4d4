#!/usr/bin/env python3
"""Train a small VQGAN (Sber/taming GumbelVQ layout, fewer channels) on the synthetic FBC2 images.

  python scripts/train_vqgan.py --config training/configs/vqgan/demo32.json --out runs/vqgan --steps 1500

Writes OUT/vqgan.safetensors and OUT/vqgan_config.json (give OUT to scripts/train.py --vqgan),
OUT/vqgan_train_log.jsonl and OUT/reconstructions.png (originals above, reconstructions below).
The quantiser and loss are explained in training/vqgan_training.py and docs/training.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fbc2_io.console import make_console_safe  # noqa: E402
from fbc2_tasks import IMAGE_TASK_NAMES  # noqa: E402
from solution.images import prepare_image, to_pil  # noqa: E402
from solution.vqgan import build_vqgan  # noqa: E402
from synthetic_fbc2 import generate_split, read_training_folders  # noqa: E402
from training.emissions import DEFAULT_COUNTRY, DEFAULT_PROJECT, EmissionTracker, NullTracker  # noqa: E402
from training.sources import VQGAN_CONFIG_DIR, read_vqgan_config  # noqa: E402
from training.vqgan_training import (  # noqa: E402
    QUANTIZERS,
    VQGANLossWeights,
    evaluate,
    gumbel_tau,
    reconstruct,
    save_vqgan_dir,
    vqgan_loss,
)

IMAGE_TASKS = list(IMAGE_TASK_NAMES)


def sample_images(samples, size: int) -> torch.Tensor:
    """(N, 3, size, size) uint8 images of the samples' inputs and generation golds."""
    images = []
    for sample in samples:
        for img in sample.images + ([sample.gold_image] if sample.gold_image is not None else []):
            images.append((prepare_image(img, size) * 255).round().to(torch.uint8))
    if not images:
        raise SystemExit("train_vqgan: no images in the given data")
    return torch.stack(images)


def synthetic_images(per_task: int, seed: int | None, size: int) -> torch.Tensor:
    return sample_images(generate_split("train", per_task, seed=seed, tasks=IMAGE_TASKS), size)


def save_grid(originals: torch.Tensor, recons: torch.Tensor, path: Path) -> None:
    top = torch.cat(list(originals), dim=2)
    bottom = torch.cat(list(recons), dim=2)
    to_pil(torch.cat([top, bottom], dim=1)).save(path)


def main(argv=None) -> int:
    make_console_safe()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(VQGAN_CONFIG_DIR / "demo32.json"),
                   help="VQGAN config name or JSON (default: training/configs/vqgan/demo32.json)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--train-dir", type=Path, action="append", default=[],
                   help="FBC2 training folders to take the images from (repeatable); default: the generator")
    p.add_argument("--stage", default="train")
    p.add_argument("--per-task", type=int, default=500,
                   help="without --train-dir: synthetic samples per image task (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="weights init and batch order")
    p.add_argument("--data-seed", type=int, default=None, help="generator seed (default: the train split's)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--max-minutes", type=float, default=0, help="stop earlier after this wall time (0: no limit)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--quantizer", choices=sorted(QUANTIZERS), default="argmax-st")
    p.add_argument("--tau-min", type=float, default=0.3, help="final Gumbel temperature (gumbel only)")
    p.add_argument("--usage-weight", type=float, default=0.1, help="code-usage entropy bonus")
    p.add_argument("--edge-weight", type=float, default=0.0,
                   help="weight of the edge term that keeps thin strokes such as glyphs sharp (0: off)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--emission-csv", type=Path, help="track this run with eco2AI into this CSV (one row)")
    p.add_argument("--country", default=DEFAULT_COUNTRY, help="eco2AI ISO alpha-2 country code (default: RU)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    config = read_vqgan_config(args.config, None)
    torch.manual_seed(args.seed)
    vqgan = build_vqgan(config["ddconfig"], config["n_embed"], config["embed_dim"])
    size = config["ddconfig"]["resolution"]
    t0 = time.time()
    samples = []
    for folder in args.train_dir:
        samples += [x for x in read_training_folders(folder, stage=args.stage) if x.task in IMAGE_TASKS]
    data = sample_images(samples, size) if samples else synthetic_images(args.per_task, args.data_seed, size)
    held_out = synthetic_images(8, 99, size).float() / 255  # train split, another seed: never in `data`
    print(f"train_vqgan: {len(data)} training images of {size}px ({time.time() - t0:.0f}s), "
          f"{sum(p.numel() for p in vqgan.parameters()) / 1e6:.2f}M parameters, quantizer {args.quantizer}", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    tracker = NullTracker()
    if args.emission_csv:
        n_params = sum(p.numel() for p in vqgan.parameters())
        tracker = EmissionTracker(args.emission_csv, DEFAULT_PROJECT,
                                  f"VQGAN {Path(str(args.config)).stem} ({n_params / 1e6:.2f}M parameters)", args.country)
    tracker.start()
    optimizer = torch.optim.AdamW(vqgan.parameters(), lr=args.lr, betas=(0.5, 0.9), weight_decay=0.0)
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / args.steps))))
    weights = VQGANLossWeights(usage=args.usage_weight, edge=args.edge_weight)
    generator = torch.Generator().manual_seed(args.seed)
    log = (args.out / "vqgan_train_log.jsonl").open("w", encoding="utf-8")
    start, step, last_loss = time.time(), 0, float("nan")
    while step < args.steps:
        if args.max_minutes and time.time() - start > 60 * args.max_minutes:
            print(f"train_vqgan: stopping at step {step} (--max-minutes)", flush=True)
            break
        vqgan.train()
        index = torch.randint(0, len(data), (args.batch_size,), generator=generator)
        batch = data[index].float() / 255
        flip = torch.rand(args.batch_size, generator=generator) < 0.5  # horizontal flips: more shapes
        batch[flip] = batch[flip].flip(-1)
        tau = gumbel_tau(step, args.steps, args.tau_min)
        recon, scores = reconstruct(vqgan, batch, args.quantizer, tau)
        loss, parts = vqgan_loss(recon, batch, scores, args.quantizer, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vqgan.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        last_loss = loss.item()
        if step % args.log_every == 0 or step == args.steps:
            record = {"step": step, "loss": round(loss.item(), 5), **{k: round(v, 5) for k, v in parts.items()},
                      "tau": round(tau, 4), "seconds": round(time.time() - start, 1)}
            if step % (args.log_every * 5) == 0 or step == args.steps:
                record.update({f"eval_{k}": round(v, 4) for k, v in evaluate(vqgan, held_out).items()})
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(json.dumps(record), flush=True)
    log.close()
    vqgan.eval()
    final = evaluate(vqgan, held_out)
    tracker.epoch(1, last_loss, 0.0)
    tracker.stop()
    save_vqgan_dir(vqgan, config, args.out)
    with torch.no_grad():
        shown = held_out[:8]
        save_grid(shown, vqgan.decode(vqgan.encode(shown)), args.out / "reconstructions.png")
    summary = {"steps": step, "seconds": round(time.time() - start, 1), **final, "out": str(args.out)}
    (args.out / "vqgan_summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
