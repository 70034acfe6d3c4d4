#!/usr/bin/env python3
"""Write deterministic synthetic FBC2 data.

  python scripts/make_sample_input.py                       # sample_input/ (20 per task), committed
  python scripts/make_sample_input.py --split heldout --per-task 50 --out data/heldout
  python scripts/make_sample_input.py --split train --per-task 1000 --out data/train
  python scripts/make_sample_input.py --split train --per-task 1000 --task-count TRitW=5000 --out data/train

The sample and heldout splits are written as a test set (input.json, ground_truth.json,
sample_ids.json, images/); the train split as per-task training folders (textqa/, mathqa/, ...).
Splits never share content (see synthetic_fbc2/synthetic.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fbc2_io.console import make_console_safe  # noqa: E402
from synthetic_fbc2 import (  # noqa: E402
    SPLITS,
    TASKS,
    FontNotFoundError,
    generate_split,
    iter_split,
    write_test_set,
    write_training_folders,
)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def parse_task_counts(items: list[str], per_task: int) -> dict[str, int]:
    """Samples per task: ``per_task`` for every task, overridden by ``TASK=N`` items."""
    counts = {task: per_task for task in TASKS}
    for item in items:
        task, sep, number = item.partition("=")
        if not sep or task not in TASKS:
            raise ValueError(f"--task-count {item!r}: expected TASK=N with TASK one of {', '.join(TASKS)}")
        try:
            counts[task] = int(number)
        except ValueError:
            raise ValueError(f"--task-count {item!r}: {number!r} is not a whole number") from None
        if counts[task] < 1:
            raise ValueError(f"--task-count {item!r}: the count must be at least 1")
    return counts


def iter_counts(split: str, counts: dict[str, int], seed: int | None):
    for task, n in counts.items():
        yield from iter_split(split, n, seed=seed, tasks=[task])


def main(argv: list[str] | None = None) -> int:
    make_console_safe()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="sample_input", help="output folder (default: %(default)s)")
    parser.add_argument("--per-task", type=int, default=20, help="samples per open task (default: %(default)s)")
    parser.add_argument("--split", choices=sorted(SPLITS), default="sample",
                        help="which split's contents to draw (default: %(default)s); splits never overlap")
    parser.add_argument("--seed", type=int, default=None,
                        help="generator seed (default: the split's own seed: "
                        + ", ".join(f"{k}={v.seed}" for k, v in SPLITS.items()) + ")")
    parser.add_argument("--format", choices=["test", "training"], default=None,
                        help="test set or per-task training folders (default: training for --split train, "
                        "test otherwise)")
    parser.add_argument("--stage", default="train",
                        help="stage name in training file names, e.g. train or val (default: %(default)s)")
    parser.add_argument("--task-count", action="append", default=[], metavar="TASK=N",
                        help="samples for one task instead of --per-task, e.g. TRitW=5000 (repeatable; "
                        "training format only)")
    args = parser.parse_args(argv)
    if args.per_task < 1:
        parser.error("--per-task must be at least 1")
    try:
        counts = parse_task_counts(args.task_count, args.per_task)
    except ValueError as exc:
        parser.error(str(exc))

    fmt = args.format or ("training" if args.split == "train" else "test")
    if args.task_count and fmt != "training":
        parser.error("--task-count needs the training format (test sets keep one count per task)")
    out = Path(args.out)
    try:
        if fmt == "test":
            ids = write_test_set(generate_split(args.split, args.per_task, seed=args.seed), out)
            count = len(ids)
        else:  # streamed: a large training set never sits in memory
            write_training_folders(iter_counts(args.split, counts, args.seed), out, stage=args.stage)
            count = sum(counts.values())
    except FontNotFoundError as exc:
        print(f"make_sample_input: {exc}", file=sys.stderr)
        return 2
    print(f"make_sample_input: wrote {count} samples ({args.split} split, {fmt} format) "
          f"to {out} ({folder_size(out) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
