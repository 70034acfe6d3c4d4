"""Command line of ``scripts/train.py`` / ``python -m training``."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from fbc2_io.settings import add_settings, from_args

from .options import ENGINE, FINE_TUNE_LR, GROUPS, TrainOptions

USAGE = """\
Fine-tune (or train from scratch) RUDOLPH on FBC2-format data with DeepSpeed, tracked by eco2AI.

  # fine-tune a weights directory on the organisers' per-task folders, one process (CPU or one GPU)
  python scripts/train.py --weights weights/rudolph-2.7b-fbc2 --train-dir fb_train_2022 --out runs/ft --epochs 1
  # the same on 2 GPUs (or 2 CPU processes): any launcher that sets RANK/WORLD_SIZE/LOCAL_RANK
  deepspeed --num_gpus 2 scripts/train.py --weights ... --train-dir ... --out runs/ft
  torchrun --nproc_per_node 2 scripts/train.py --weights ... --train-dir ... --out runs/ft
  # a new model from a config, a BPE and a VQGAN, on synthetic data; --final marks the eco2AI rows
  python scripts/train.py --config demo --bpe runs/bpe/bpe.model --vqgan runs/vqgan \\
      --synthetic-per-task 500 --out runs/demo --epochs 4 --final
  # continue an interrupted run (same --out): the step count and the data order continue
  python scripts/train.py ... --out runs/demo --resume
  # an --out that holds a run is refused unless --resume or --overwrite (which deletes that run)
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train.py", description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    engine = add_settings(p, TrainOptions, groups=GROUPS)[ENGINE]
    engine.add_argument("--overwrite", action="store_true",
                        help="start over in an --out that already holds a run (its checkpoints, weights and logs are "
                             "deleted; without this or --resume such an --out is refused)")
    engine.add_argument("--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS)  # launchers
    return p


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    return from_args(TrainOptions, args, lr=learning_rate(args))


def learning_rate(args: argparse.Namespace) -> float | None:
    """--lr; else the fine-tuning rate for --weights; else None: the DeepSpeed config's own."""
    if args.lr is not None:
        return args.lr
    return FINE_TUNE_LR if args.weights is not None else None


# What a run writes under --out (training/trainer.py); --overwrite deletes these, nothing else.
RUN_OUTPUTS = ("checkpoints", "weights", "emission.csv", "train_log.jsonl", "loss_log.csv", "train_args.json")


def refuse_or_clear_out(args: argparse.Namespace) -> str | None:
    """Why --out cannot be used (None when it can); with --overwrite, rank 0 deletes the old run's files."""
    out = args.out
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file, not a folder"
    held = [name for name in RUN_OUTPUTS if (out / name).exists() or (out / name).is_symlink()]
    if not held:
        return None
    if args.resume and args.overwrite:
        return "--resume and --overwrite exclude each other"
    if args.resume:
        return None
    if not args.overwrite:
        return (f"--out {out} already holds a run ({', '.join(held)}): pass --resume to continue it "
                "or --overwrite to start over")
    if int(os.environ.get("RANK", "0")) == 0:
        for name in held:
            target = out / name
            shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = refuse_or_clear_out(args)
    if problem:
        print(f"train: {problem}", file=sys.stderr)
        return 2
    from .trainer import train  # DeepSpeed: only once the command line is good (start-up time of --help)

    try:
        result = train(options_from_args(args))
    except (ValueError, FileNotFoundError) as e:
        print(f"train: {e}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({k: v for k, v in result.items() if k != "epochs"}))
    return 0
