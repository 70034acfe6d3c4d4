"""Command line of ``scripts/train.py`` / ``python -m training``."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from .emissions import DEFAULT_COUNTRY, DEFAULT_PROJECT
from .freezing import FREEZE_GROUPS
from .loss import LOSS_LAYOUTS
from .tasks import TASK_TRAINING

# The learning rate when fine-tuning trained weights (--weights) without --lr: the GPU configs' rate.
# The CPU config's 3e-4 is a from-scratch rate (the demo recipe); fine-tuning the demo with it made
# the model worse.
FINE_TUNE_LR = 2e-5

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


def _task_weight(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or name not in TASK_TRAINING:
        raise argparse.ArgumentTypeError(f"expected TASK=WEIGHT with TASK one of {', '.join(TASK_TRAINING)}")
    return name, float(value)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train.py", description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group("model")
    src.add_argument("--weights", type=Path, help="weights directory to fine-tune (config.json, checkpoint, bpe.model, VQGAN)")
    src.add_argument("--config", help="train a new model: a RUDOLPH config name (e.g. demo, tiny) or params JSON")
    src.add_argument("--bpe", type=Path, help="new model: the youtokentome BPE (scripts/train_bpe.py)")
    src.add_argument("--vqgan", type=Path, help="new model: a VQGAN checkpoint or folder (scripts/train_vqgan.py)")
    src.add_argument("--vqgan-config", help="VQGAN config name or JSON (default: the folder's vqgan_config.json, "
                     "else sber-gumbelf8)")
    data = p.add_argument_group("data")
    data.add_argument("--train-dir", type=Path, action="append", default=[],
                      help="FBC2 training folders (textqa/, mathqa/, ...); repeatable")
    data.add_argument("--stage", default="train", help="file stage: <prefix>_<stage>.json (default: train)")
    data.add_argument("--synthetic-per-task", type=int, default=0,
                      help="add N samples per task of the synthetic generator's train split")
    data.add_argument("--synthetic-seed", type=int, default=None, help="generator seed (default: the train split's)")
    data.add_argument("--tasks", nargs="+", choices=list(TASK_TRAINING), help="train only these tasks")
    data.add_argument("--code-cache", type=Path, help="VQGAN code cache file (default: OUT/image_codes.pt)")
    run = p.add_argument_group("schedule and engine")
    run.add_argument("--out", type=Path, required=True, help="output folder: checkpoints/, weights/, emission.csv, logs")
    run.add_argument("--epochs", type=int, default=1)
    run.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (overrides --epochs)")
    run.add_argument("--deepspeed-config", type=Path,
                     help="DeepSpeed JSON (default: training/configs/deepspeed/cpu_fp32.json on CPU, gpu_bf16.json on GPU)")
    run.add_argument("--micro-batch", type=int, help="override train_micro_batch_size_per_gpu")
    run.add_argument("--grad-accum", type=int, help="override gradient_accumulation_steps")
    run.add_argument("--lr", type=float,
                     help=f"peak learning rate (default: {FINE_TUNE_LR:g} when fine-tuning --weights, else the "
                          "DeepSpeed config's: 3e-4 on CPU, 2e-5 on GPU)")
    run.add_argument("--seed", type=int, default=0, help="model init, data order and task-token draws")
    run.add_argument("--save-every", type=int, default=0, help="checkpoint every N steps (and always at the end)")
    run.add_argument("--keep-checkpoints", type=int, default=2, help="DeepSpeed checkpoints to keep (0: all)")
    run.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/latest")
    run.add_argument("--overwrite", action="store_true",
                     help="start over in an --out that already holds a run (its checkpoints, weights and logs are "
                          "deleted; without this or --resume such an --out is refused)")
    run.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    run.add_argument("--threads", type=int, help="torch CPU threads per process")
    run.add_argument("--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS)
    model = p.add_argument_group("model options")
    model.add_argument("--freeze", nargs="+", default=[], choices=sorted(FREEZE_GROUPS), help="parameter groups to freeze")
    model.add_argument("--freeze-first-layers", type=int, default=0, help="freeze transformer layers 0..N-1")
    model.add_argument("--gradient-checkpointing", action="store_true", help="recompute layer activations in backward")
    model.add_argument("--dropout", type=float, help="attention and output dropout while training (default: the "
                       "config's, 0 for the published ones; the FBC2 fine-tuning used 0.1)")
    model.add_argument("--loss-layout", choices=sorted(LOSS_LAYOUTS), default="rudolph",
                       help="left/image border of the loss (see training/loss.py)")
    model.add_argument("--task-weight", type=_task_weight, action="append", default=[], metavar="TASK=W",
                       help="weight of a task's loss in the batch loss (default 0.5 each)")
    eco = p.add_argument_group("eco2AI")
    eco.add_argument("--no-eco2ai", dest="eco2ai", action="store_false", help="do not track emissions")
    eco.add_argument("--final", action="store_true", help="the final run: add 'TargetValue' to the description")
    eco.add_argument("--country", default=DEFAULT_COUNTRY, help="ISO alpha-2 code of the electricity grid (default: RU)")
    eco.add_argument("--region", help="region inside the country (eco2AI's table)")
    eco.add_argument("--project-name", default=DEFAULT_PROJECT)
    eco.add_argument("--eco2ai-cpu-processes", dest="cpu_processes", choices=["current", "all"], default="current",
                     help="CPU load of this process only, or of the whole machine")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress (default: a bar on a terminal, a plain line every 30 s in a log)")
    p.add_argument("--verbose", action="store_true", help="show library warnings and DeepSpeed's start-up lines")
    return p


def options_from_args(args: argparse.Namespace):
    from .trainer import TrainOptions

    return TrainOptions(
        out_dir=args.out, weights=args.weights, config=args.config, bpe=args.bpe, vqgan=args.vqgan,
        vqgan_config=args.vqgan_config, train_dirs=args.train_dir, stage=args.stage,
        synthetic_per_task=args.synthetic_per_task, synthetic_seed=args.synthetic_seed, tasks=args.tasks,
        code_cache=args.code_cache, epochs=args.epochs, max_steps=args.max_steps,
        deepspeed_config=args.deepspeed_config, micro_batch=args.micro_batch, grad_accum=args.grad_accum, lr=learning_rate(args),
        seed=args.seed, save_every=args.save_every, keep_checkpoints=args.keep_checkpoints, resume=args.resume,
        device=args.device, threads=args.threads, freeze=args.freeze, freeze_first_layers=args.freeze_first_layers,
        gradient_checkpointing=args.gradient_checkpointing, dropout=args.dropout, loss_layout=args.loss_layout,
        task_weights=dict(args.task_weight), eco2ai=args.eco2ai, final=args.final, country=args.country,
        region=args.region, project_name=args.project_name, cpu_processes=args.cpu_processes, progress=args.progress,
        verbose=args.verbose)


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
    from .trainer import train

    try:
        result = train(options_from_args(args))
    except (ValueError, FileNotFoundError) as e:
        print(f"train: {e}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({k: v for k, v in result.items() if k != "epochs"}))
    return 0
