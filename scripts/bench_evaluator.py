"""Benchmark: score 10,000 synthetic text-task samples (TextQA, MathQA, VisualQA, TRitW) and print the time.

    .venv/bin/python scripts/bench_evaluator.py [--samples 10000] [--seed 0]

The target (issue 4) is under a minute on 2 CPU cores. Answers are drawn from a small Russian
vocabulary with typos, extra words, option letters and numbers, so the lemmatiser cache sees a
realistic mix of repeated and new strings.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from evaluator.options import ScoreOptions  # noqa: E402 (after the repository is on sys.path)
from evaluator.scoring.score import score_files  # noqa: E402

WORDS = ("кот кошка собака дом машина красный синий большой маленький стол окно дерево река город человек "
         "велосипед лошадь едет сидит стоит бежит три два пять десять на в под около").split()


def _phrase(rng: random.Random, low: int = 1, high: int = 5) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 2:
        return word
    i = rng.randrange(len(word))
    return word[:i] + rng.choice("абвгдеёжзийклмнопрстуфхцчшщыэюя") + word[i + 1:]


def build(n: int, seed: int) -> tuple[dict, dict, dict]:
    rng = random.Random(seed)
    ground_truth, predictions, task_ids = {}, {}, {}
    for i in range(n):
        sid, task = str(i), rng.choice((0, 1, 4, 5))
        if task == 0:
            gold = _phrase(rng, 2, 6)
            golds = [f"a {gold}", "a", gold]
            pred = rng.choice([gold, f"a) {gold}", _phrase(rng), gold + " " + _phrase(rng, 1, 2)])
        elif task == 1:
            value = str(rng.randint(-50, 50))
            golds = [f"c) {value}", "c", value]
            pred = rng.choice([value, "c", f"Ответ: {value}", str(rng.randint(-50, 50))])
        elif task == 4:
            gold = rng.choice([str(rng.randint(0, 9)), _phrase(rng, 1, 3)])
            golds = [gold]
            pred = rng.choice([gold, _phrase(rng, 1, 4), f"{rng.randint(0, 9)} {rng.choice(WORDS)}"])
        else:
            gold = rng.choice(WORDS).upper()
            golds = [gold]
            pred = rng.choice([gold, _typo(rng, gold), gold.lower()])
        ground_truth[sid] = [{"type": "text", "content": golds}]
        predictions[sid] = [{"type": "text", "content": pred}]
        task_ids[sid] = task
    return ground_truth, predictions, task_ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ground_truth, predictions, task_ids = build(args.samples, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for name, data in (("gt", ground_truth), ("pred", predictions), ("ids", task_ids)):
            paths[name] = os.path.join(folder, f"{name}.json")
            with open(paths[name], "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False)
        start = time.perf_counter()
        report = score_files(paths["gt"], paths["pred"], paths["ids"], options=ScoreOptions(progress=True))
        elapsed = time.perf_counter() - start
    scores = ", ".join(f"{name} {report.tasks[name].score:.3f} (n={report.tasks[name].n})"
                       for name in ("TextQA", "MathQA", "VisualQA", "TRitW"))
    print(f"scored {args.samples} text-task samples in {elapsed:.2f} s "
          f"({args.samples / elapsed:.0f} samples/s; includes the lemmatiser start-up and the extras)")
    print(scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
