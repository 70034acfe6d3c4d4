#!/usr/bin/env python3
"""Train a youtokentome BPE with the ruDALL-E id conventions (pad 0, unk 1, bos 2, eos 3) on FBC2 texts.

  python scripts/train_bpe.py --out runs/bpe/bpe.model --vocab-size 1000 --per-task 500
  python scripts/train_bpe.py --out my_bpe.model --train-dir fb_train_2022 --vocab-size 8000

Texts: every text item and every gold answer of the synthetic generator's train split
(``--per-task``) and/or of FBC2 training folders (``--train-dir``). The task tokens (<LT_UNK>, ...)
take the ids right after the BPE vocabulary, so a RUDOLPH config needs
``vocab_size >= vocab + 17``. youtokentome may merge fewer pairs than asked on a small corpus; the
real size is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fbc2_io.console import make_console_safe  # noqa: E402
from fbc2_tools.quiet import quiet_output, silence_library_warnings, verbose_requested  # noqa: E402

silence_library_warnings(verbose_requested())  # before torch is imported (its pynvml FutureWarning)
from solution.rudolph.tokenizer import SPECIAL_TOKENS, Tokenizer, train_bpe  # noqa: E402
from synthetic_fbc2 import generate_split, read_training_folders  # noqa: E402


def sample_texts(samples) -> list[str]:
    texts = []
    for s in samples:
        texts += [t for t in s.texts if t.strip()]
        texts += [a for a in (s.answers or []) if a.strip()]
    return texts


def main(argv=None) -> int:
    make_console_safe()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="BPE model file to write (e.g. OUT/bpe.model)")
    p.add_argument("--vocab-size", type=int, default=1000)
    p.add_argument("--per-task", type=int, default=500, help="synthetic train-split samples per task (0: none)")
    p.add_argument("--seed", type=int, default=None, help="generator seed (default: the train split's)")
    p.add_argument("--train-dir", type=Path, action="append", default=[], help="FBC2 training folders; repeatable")
    p.add_argument("--stage", default="train")
    p.add_argument("--verbose", action="store_true", help="show library warnings and youtokentome's own output")
    args = p.parse_args(argv)

    samples = generate_split("train", args.per_task, seed=args.seed) if args.per_task > 0 else []
    for folder in args.train_dir:
        samples += read_training_folders(folder, stage=args.stage)
    texts = sample_texts(samples)
    if not texts:
        p.error("no texts: give --per-task > 0 or --train-dir")
    with quiet_output(args.verbose):  # youtokentome prints its parameters and steps (C++ stderr)
        train_bpe(texts, args.out, args.vocab_size)
    tokenizer = Tokenizer(args.out)
    summary = {"out": str(args.out), "texts": len(texts), "bpe_vocab": tokenizer.bpe_vocab_size,
               "min_rudolph_vocab_size": tokenizer.bpe_vocab_size + len(SPECIAL_TOKENS)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
