#!/usr/bin/env python3
"""Quality on a held-out FBC2 set: run.py with each weights directory, then the evaluator; one row
per system, the official per-task scores, and which prize thresholds each passes.

  python scripts/evaluate_quality.py --heldout data/heldout --system demo=weights/demo \\
      --random-like weights/demo --constant "a) да 1" --out quality.md

``--random-like DIR`` adds the same pipeline with DIR's tokenizer and VQGAN but a randomly
initialised RUDOLPH of the same configuration, one row per ``--random-seeds`` seed and, with more
than one, a row of their mean (a random RUDOLPH's option choice alone scores 0.22 to 0.32 on 50
MathQA samples depending on its seed, so one seed is a noisy baseline); ``--constant TEXT`` adds a
system answering TEXT to every sample (how lenient the metrics are). The held-out set is made with
``scripts/make_sample_input.py --split heldout`` when the folder does not exist.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from evaluator.options import ScoreOptions  # noqa: E402
from evaluator.scoring.score import score_files  # noqa: E402
from evaluator.tasks import load_registry  # noqa: E402
from fbc2_tasks import OPEN_TASK_NAMES  # noqa: E402

OPEN_TASKS = OPEN_TASK_NAMES


def ensure_heldout(folder: Path, per_task: int) -> None:
    if (folder / "input.json").is_file():
        return
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_sample_input.py"), "--split", "heldout",
                    "--per-task", str(per_task), "--out", str(folder)], check=True)


def random_weights_like(source: Path, out: Path, seed: int) -> Path:
    """A copy of ``source`` whose RUDOLPH weights are replaced by a random init of the same config."""
    import torch

    from solution.rudolph import build_model, get_config, save_model

    out.mkdir(parents=True, exist_ok=True)
    for name in ("bpe.model", "vqgan.safetensors", "vqgan_config.json", "config.json"):
        if (source / name).is_file():
            shutil.copyfile(source / name, out / name)
    torch.manual_seed(seed)
    config = get_config(json.loads((source / "config.json").read_text(encoding="utf-8")))
    save_model(build_model(config), out / "rudolph.safetensors")
    return out


def run_pipeline(weights: Path, heldout: Path, output: Path, extra: list[str]) -> Path:
    command = [sys.executable, str(ROOT / "run.py"), "--input", str(heldout / "input.json"), "--output", str(output),
               "--weights", str(weights), "--no-eco2ai", "--no-progress", "--overwrite", *extra]
    subprocess.run(command, check=True)
    return output / "predictions.json"


def constant_predictions(text: str, heldout: Path, output: Path) -> Path:
    ids = json.loads((heldout / "input.json").read_text(encoding="utf-8"))
    output.mkdir(parents=True, exist_ok=True)
    path = output / "predictions.json"
    path.write_text(json.dumps({i: [{"type": "text", "content": text}] for i in ids}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def score(predictions: Path, heldout: Path, options: ScoreOptions) -> dict:
    return score_files(str(heldout / "ground_truth.json"), str(predictions), str(heldout / "sample_ids.json"),
                       input_path=str(heldout / "input.json"), options=options).to_json()


def mean_report(reports: list[dict]) -> dict:
    """Task scores and components averaged over ``reports``; None where any report lacks a value."""
    tasks = {}
    for task in OPEN_TASKS:
        entries = [r["tasks"][task] for r in reports]
        scores = [e["score"] for e in entries]
        keys = entries[0]["components"].keys()
        components = {k: (None if any(e["components"].get(k) is None for e in entries)
                          else sum(e["components"][k] for e in entries) / len(entries)) for k in keys}
        tasks[task] = {"score": None if None in scores else sum(scores) / len(scores), "components": components}
    return {"tasks": tasks}


def markdown_table(rows: list[tuple[str, dict]]) -> str:
    registry = {t.name: t for t in load_registry().tasks}
    head = "| system | " + " | ".join(OPEN_TASKS) + " | thresholds passed |"
    lines = [head, "|" + " --- |" * (len(OPEN_TASKS) + 2)]
    lines.append("| *threshold* | " + " | ".join(f"*{registry[t].threshold}*" for t in OPEN_TASKS) + " | |")
    for name, report in rows:
        cells, passed, scored = [], 0, 0
        for task in OPEN_TASKS:
            value = report["tasks"][task]["score"]
            if value is None:  # not computed (CLIP/FID weights absent): show what was computed
                parts = {k: v for k, v in report["tasks"][task]["components"].items() if v is not None}
                cells.append("n/a" + "".join(f" ({k} {v:.3f})" for k, v in parts.items()))
                continue
            scored += 1
            ok = value >= registry[task].threshold
            passed += ok
            cells.append(f"**{value:.3f}**" if ok else f"{value:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {passed} of {scored} scored |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--heldout", type=Path, default=ROOT / "data" / "heldout", help="FBC2 set with ground truth")
    p.add_argument("--per-task", type=int, default=50, help="size of a newly made held-out set (default 50)")
    p.add_argument("--system", action="append", default=[], metavar="NAME=DIR", help="a weights directory to run")
    p.add_argument("--random-like", type=Path, action="append", default=[], metavar="DIR",
                   help="also run DIR's pipeline with a random RUDOLPH of the same config")
    p.add_argument("--constant", action="append", default=[], metavar="TEXT", help="a system answering TEXT everywhere")
    p.add_argument("--clip-weights", default=None)
    p.add_argument("--inception-weights", default=None)
    p.add_argument("--work", type=Path, default=None, help="folder for outputs (default: a temporary one)")
    p.add_argument("--random-seeds", type=int, nargs="+", default=[0], metavar="SEED",
                   help="seeds of the random RUDOLPHs for --random-like (default: 0); with several, "
                   "a row of their mean is added")
    p.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    p.add_argument("--json", type=Path, default=None, help="write every report here")
    p.add_argument("--run-arg", action="append", default=[], help="an extra argument for run.py (repeatable)")
    args = p.parse_args(argv)

    if len(set(args.random_seeds)) != len(args.random_seeds):
        p.error(f"--random-seeds {' '.join(map(str, args.random_seeds))}: each seed once")
    ensure_heldout(args.heldout, args.per_task)
    work = args.work or Path(tempfile.mkdtemp(prefix="fbc2_quality_"))
    options = ScoreOptions(clip_weights=args.clip_weights, inception_weights=args.inception_weights, progress=False)
    rows = []
    for spec in args.system:
        name, _, folder = spec.partition("=")
        if not folder:
            p.error(f"--system {spec!r}: expected NAME=DIR")
        predictions = run_pipeline(Path(folder), args.heldout, work / name, args.run_arg)
        rows.append((name, score(predictions, args.heldout, options)))
    for folder in args.random_like:
        reports = []
        for seed in args.random_seeds:
            weights = random_weights_like(folder, work / f"random_{folder.name}_{seed}_weights", seed)
            predictions = run_pipeline(weights, args.heldout, work / f"random_{folder.name}_{seed}", args.run_arg)
            reports.append(score(predictions, args.heldout, options))
            rows.append((f"random {folder.name} (seed {seed})", reports[-1]))
        if len(reports) > 1:
            seeds = ", ".join(map(str, args.random_seeds))
            rows.append((f"random {folder.name}, mean of seeds {seeds}", mean_report(reports)))
    for text in args.constant:
        predictions = constant_predictions(text, args.heldout, work / f"constant_{len(rows)}")
        rows.append((f"constant '{text}'", score(predictions, args.heldout, options)))
    table = markdown_table(rows)
    print(table)
    if args.out:
        args.out.write_text(table + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(dict(rows), ensure_ascii=False, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
