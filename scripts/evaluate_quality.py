#!/usr/bin/env python3
"""Quality of weights directories on a synthetic FBC2 set: all six tasks with standard errors,
next to the best constant answer and a random model.

  python scripts/evaluate_quality.py --readme              # the README table: test split, 100 per task
  python scripts/evaluate_quality.py --system demo=weights/demo --best-constant   # development: heldout

Each system is run with run.py, then scored per sample:

- TextQA, MathQA, VisualQA, TRitW: the official metrics (``evaluator.metrics``; METEOR without
  RuWordNet synonyms, as the evaluator without ``--ruwordnet``);
- ImageGeneration (stand-in, NOT the official CLIP + FID): the scene the prompt asks for against
  the scene ``synthetic_fbc2.scene_reader`` reads from the generated image; headline the F1 over
  (colour, shape, position) triples, also background, colour, shape, position and count;
- ImageCaptioning (stand-in, NOT the official CLIP + METEOR): the predicted caption parsed back into
  a scene against the input image's scene; headline the F1 over (colour, shape) pairs, also the
  triple F1, count and the official METEOR half (which a constant caption scores about as well).

A cell is the mean over the set's samples of the task ± its standard error (sample standard
deviation / sqrt(n)). The baselines, defined plainly:

- ``--best-constant``: per task, the one answer that scores best on this very set (an upper bound
  for any constant): text tasks among every gold string of the set, the task's answer vocabulary
  (TextQA, MathQA: the 40 most frequent training answers; VisualQA: yes/no, counts, colours, shapes,
  positions; TRitW: every sign text; ImageCaptioning: every one-shape caption) and a few fixed strings; ImageGeneration one image for every prompt, the scene of 0-3
  shapes (on the set's most frequent background) with the best mean triple F1, drawn without
  texture;
- ``--random-like DIR``: the same pipeline with DIR's tokenizer and VQGAN but a randomly initialised
  RUDOLPH of the same configuration (``torch.manual_seed(seed)``, one row per ``--random-seeds``);
- ``--constant TEXT``: TEXT answered to every sample (no image: ImageGeneration scores 0);
- ``--ceiling DIR``: ImageGeneration only: the gold images, and their reconstructions by DIR's VQGAN
  (the best its images can read as).

With ``--compare NAME`` (default: the first --system) each task says whether NAME beats the best
constant by at least two standard errors of the paired per-sample difference.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from evaluator.metrics.text import mathqa_exact, textqa_f1, tritw_ned, vqa_meteor  # noqa: E402
from fbc2_tasks import OPEN_TASK_NAMES  # noqa: E402
from fbc2_tasks import OPEN_TASKS as TASK_TABLE  # noqa: E402
from synthetic_fbc2 import SPLITS  # noqa: E402
from synthetic_fbc2.drawing import Scene, Shape, draw_scene  # noqa: E402
from synthetic_fbc2.scene_reader import read_scene, vqgan_reconstructions  # noqa: E402
from synthetic_fbc2.scene_scores import (  # noqa: E402
    CAPTION_HEADLINE,
    GENERATION_HEADLINE,
    caption_scores,
    generation_scores,
)
from synthetic_fbc2.scenes import parse_scene_text  # noqa: E402
from synthetic_fbc2.vocab import COLOURS, POSITIONS, SHAPES, SIGN_PHRASES, SIGN_WORDS  # noqa: E402

OPEN_TASKS = OPEN_TASK_NAMES
TASK_NAME_BY_ID = {task.id: task.name for task in TASK_TABLE}
# the official per-sample metric of each text task (evaluator/tasks.json names them)
TEXT_METRICS = {"TextQA": ("textqa_f1", textqa_f1), "MathQA": ("mathqa_exact", mathqa_exact),
                "VisualQA": ("vqa_meteor", vqa_meteor), "TRitW": ("tritw_ned", tritw_ned)}
HEADLINE = {**{task: name for task, (name, _) in TEXT_METRICS.items()},
            "ImageGeneration": f"stand-in {GENERATION_HEADLINE}", "ImageCaptioning": f"stand-in {CAPTION_HEADLINE}"}
FIXED_CONSTANTS = ("a) да 1", "a", "да", "красный", "на картинке красный круг")
TRAIN_CANDIDATES = 40
README_PER_TASK = 100


# --- the evaluated set --------------------------------------------------------------------------

class TestSet:
    """An FBC2 set with ground truth (input.json, ground_truth.json, sample_ids.json, images/)."""

    def __init__(self, folder: Path):
        self.folder = folder
        read = lambda name: json.loads((folder / name).read_text(encoding="utf-8"))  # noqa: E731
        self.inputs, self.truth = read("input.json"), read("ground_truth.json")
        self.ids = {name: [] for name in OPEN_TASKS}
        for sample_id, task_id in read("sample_ids.json").items():
            self.ids[TASK_NAME_BY_ID[task_id]].append(sample_id)

    def golds(self, sample_id: str) -> list[str]:
        return list(first_content(self.truth[sample_id], "text") or [])

    def prompt_scene(self, sample_id: str) -> Scene:
        """The scene a generation input asks for (its prompt parsed; the instruction names none)."""
        return parse_scene_text(" ".join(i["content"] for i in self.inputs[sample_id] if i["type"] == "text"))

    def caption_scene(self, sample_id: str) -> Scene:
        """The input image's scene: the gold caption that states the most (the full one)."""
        parsed = [parse_scene_text(gold) for gold in self.golds(sample_id)]
        return max(parsed, key=lambda s: (s.background is not None, sum(x.size is not None for x in s.shapes)))

    def gold_image(self, sample_id: str):
        from PIL import Image

        return Image.open(self.folder / first_content(self.truth[sample_id], "image")).convert("RGB")


def first_content(items, kind: str):
    return next((item["content"] for item in items or [] if item.get("type") == kind), None)


def ensure_set(folder: Path, split: str, per_task: int, seed: int | None) -> None:
    if (folder / "input.json").is_file():
        return
    command = [sys.executable, str(ROOT / "scripts" / "make_sample_input.py"), "--split", split,
               "--per-task", str(per_task), "--out", str(folder)]
    subprocess.run(command + ([] if seed is None else ["--seed", str(seed)]), check=True)


# --- scoring ------------------------------------------------------------------------------------

def score_predictions(predictions: dict, folder: Path, data: TestSet) -> dict:
    """{task: {"metric": name, "values": [per sample], "components": {name: [per sample]}}}."""
    from PIL import Image

    report = {}
    for task, (metric, function) in TEXT_METRICS.items():
        values = [function(answer, golds) if (answer := first_content(predictions.get(i), "text")) is not None
                  and (golds := data.golds(i)) else 0.0 for i in data.ids[task]]
        report[task] = {"metric": metric, "values": values, "components": {}}

    def columns(rows: list[dict]) -> dict[str, list[float]]:
        return {name: [row[name] for row in rows] for name in rows[0]} if rows else {}

    generation = []
    for i in data.ids["ImageGeneration"]:
        path = first_content(predictions.get(i), "image")
        read = read_scene(Image.open(folder / path).convert("RGB")) if path and (folder / path).is_file() else None
        asked = data.prompt_scene(i)
        generation.append(generation_scores(read, asked) if read is not None
                          else dict.fromkeys(generation_scores(asked, asked), 0.0))
    parts = columns(generation)
    report["ImageGeneration"] = {"metric": HEADLINE["ImageGeneration"], "values": parts.pop(GENERATION_HEADLINE, []),
                                 "components": parts}

    captions = []
    for i in data.ids["ImageCaptioning"]:
        caption = first_content(predictions.get(i), "text") or ""
        row = caption_scores(parse_scene_text(caption), data.caption_scene(i))
        row["meteor (official half)"] = vqa_meteor(caption, data.golds(i)) if caption else 0.0
        captions.append(row)
    parts = columns(captions)
    report["ImageCaptioning"] = {"metric": HEADLINE["ImageCaptioning"], "values": parts.pop(CAPTION_HEADLINE, []),
                                 "components": parts}
    return {task: report[task] for task in OPEN_TASKS}


def mean_se(values: list[float]) -> tuple[float | None, float | None]:
    """Mean and standard error (sample standard deviation / sqrt(n)); None where undefined."""
    n = len(values)
    if n == 0:
        return None, None
    mean = sum(values) / n
    if n < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def cell(values: list[float] | None) -> str:
    if not values:
        return "—"
    mean, se = mean_se(values)
    return f"{mean:.3f}" if se is None else f"{mean:.3f} ± {se:.3f}"


# --- systems ------------------------------------------------------------------------------------

def _run(weights: Path, input_json: Path, output: Path, extra: list[str]) -> dict:
    """run.py once; an earlier complete or partial run in ``output`` is resumed, not redone."""
    resume = "--resume" if (output / "predictions.json").is_file() else "--overwrite"
    command = [sys.executable, str(ROOT / "run.py"), "--input", str(input_json), "--output", str(output),
               "--weights", str(weights), "--no-eco2ai", "--no-progress", resume, *extra]
    subprocess.run(command, check=True)
    return json.loads((output / "predictions.json").read_text(encoding="utf-8"))


def run_pipeline(weights: Path, data: TestSet, output: Path, extra: list[str], answer_extra: list[str] = (),
                 image_extra: list[str] = (), timings: dict | None = None) -> dict:
    """The system's predictions, from two run.py calls: every answer with ``--no-images`` (answers
    are conditioned on an all-zero image block by default, so images made for the text-only samples
    of TextQA and MathQA would change nothing scored here), then the ImageGeneration images alone.
    ``answer_extra`` goes to the first call only, ``image_extra`` to the second only. Image paths
    are made relative to ``output``. ``timings`` gets each call's (wall seconds, samples)."""
    timings = {} if timings is None else timings
    start = time.monotonic()
    answers = _run(weights, data.folder / "input.json", output / "answers", ["--no-images", *extra, *answer_extra])
    timings["answers"] = (time.monotonic() - start, len(data.inputs))
    generation = {i: data.inputs[i] for i in data.ids["ImageGeneration"]}
    subset = output / "generation_input" / "input.json"
    subset.parent.mkdir(parents=True, exist_ok=True)
    subset.write_text(json.dumps(generation, ensure_ascii=False), encoding="utf-8")
    start = time.monotonic()
    images = _run(weights, subset, output / "images", [*extra, *image_extra])
    timings["images"] = (time.monotonic() - start, len(generation))
    predictions = {i: [item for item in items if item.get("type") == "text"] for i, items in answers.items()}
    for i in generation:
        path = first_content(images.get(i), "image")
        if path:
            predictions[i] = predictions.get(i, []) + [{"type": "image", "content": f"images/{path}"}]
    return predictions


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


def write_predictions(folder: Path, predictions: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "predictions.json").write_text(json.dumps(predictions, ensure_ascii=False), encoding="utf-8")
    return folder


def constant_predictions(text: str, data: TestSet) -> dict:
    return {i: [{"type": "text", "content": text}] for i in data.inputs}


def train_answers(task: str, n: int) -> list[str]:
    """The ``n`` most frequent canonical answers of a text-only task in a draw of the train split."""
    from synthetic_fbc2 import generate_samples

    counts = Counter(s.answers[0] for s in generate_samples(task, 500, SPLITS["train"].seed, split="train"))
    return [answer for answer, _ in counts.most_common(n)]


def vocabulary_answers(task: str) -> list[str]:
    """Constant candidates from the task's answer vocabulary (the train split's frequent answers for
    the text-only tasks, whose vocabulary is open-ended)."""
    if task in ("TextQA", "MathQA"):
        return train_answers(task, TRAIN_CANDIDATES)
    if task == "VisualQA":
        return ["да", "нет", "0", "1", "2", "3", *COLOURS, *SHAPES, *POSITIONS]
    if task == "TRitW":
        return [*SIGN_WORDS, *SIGN_PHRASES]
    return [f"на картинке {c} {s}" + suffix for c in COLOURS for s in SHAPES  # ImageCaptioning: one shape
            for suffix in ["", *(f" {p}" for p in POSITIONS)]]


def best_text_constant(task: str, data: TestSet) -> tuple[str, float]:
    """(answer, mean): the constant answer with the best headline mean on the set."""
    ids = data.ids[task]
    golds = {i: data.golds(i) for i in ids}
    candidates = list(dict.fromkeys([*FIXED_CONSTANTS, *vocabulary_answers(task),
                                     *(g for gs in golds.values() for g in gs)]))
    if task == "ImageCaptioning":
        scenes = {i: data.caption_scene(i) for i in ids}
        value = lambda c, i: caption_scores(parse_scene_text(c), scenes[i])[CAPTION_HEADLINE]  # noqa: E731
    else:
        function = TEXT_METRICS[task][1]
        value = lambda c, i: function(c, golds[i])  # noqa: E731
    scored = [(sum(value(c, i) for i in ids) / max(len(ids), 1), c) for c in candidates]
    mean, answer = max(scored, key=lambda t: t[0])  # ties: the first candidate
    return answer, mean


def candidate_scenes(background: str):
    """Every scene of 0-3 shapes (large), at most one per position, on ``background``."""
    options = [None] + [(c, s) for c in COLOURS for s in SHAPES]
    positions = sorted(POSITIONS, key=POSITIONS.get)

    def build(choice):
        return Scene(background, tuple(Shape(shape=cs[1], colour=cs[0], size="большой", position=p)
                                       for p, cs in zip(positions, choice, strict=True) if cs is not None))

    return [build((a, b, c)) for a in options for b in options for c in options]


def best_constant_scene(data: TestSet) -> Scene:
    asked = [data.prompt_scene(i) for i in data.ids["ImageGeneration"]]
    background = Counter(s.background for s in asked).most_common(1)[0][0] if asked else "белый"
    scenes = candidate_scenes(background)
    return max(scenes, key=lambda c: sum(generation_scores(c, a)[GENERATION_HEADLINE] for a in asked))


def best_constant_predictions(data: TestSet, folder: Path) -> tuple[dict, dict[str, str]]:
    """Predictions of the best constant per task, and what each constant is."""
    import random

    chosen = {task: best_text_constant(task, data)[0] for task in (*TEXT_METRICS, "ImageCaptioning")}
    scene = best_constant_scene(data)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    draw_scene(scene, "plain", random.Random(0)).save(folder / "images" / "constant.png")
    chosen["ImageGeneration"] = f"image of: {scene.key()}"
    predictions = {}
    for task, ids in data.ids.items():
        for i in ids:
            predictions[i] = ([{"type": "image", "content": "images/constant.png"}] if task == "ImageGeneration"
                              else [{"type": "text", "content": chosen[task]}])
    return predictions, chosen


def ceiling_predictions(data: TestSet, vqgan_dir: Path, folder: Path) -> tuple[dict, dict]:
    """ImageGeneration predictions: the gold images, and their reconstructions by ``vqgan_dir``'s VQGAN."""
    ids = data.ids["ImageGeneration"]
    (folder / "images").mkdir(parents=True, exist_ok=True)
    gold, recon = {}, {}
    rebuilt_images = vqgan_reconstructions([data.gold_image(i) for i in ids], vqgan_dir)
    for i, rebuilt in zip(ids, rebuilt_images, strict=True):
        rebuilt.save(folder / "images" / f"recon_{i}.png")
        gold[i] = [{"type": "image", "content": str((data.folder / first_content(data.truth[i], "image")).resolve())}]
        recon[i] = [{"type": "image", "content": f"images/recon_{i}.png"}]
    return gold, recon


# the demo's training data (weights/demo/REPRODUCE.md: train split, seed 1, PER_TASK=1000 and these)
DEMO_TRAIN_COUNTS = {"TextQA": 2000, "MathQA": 2000, "ImageCaptioning": 1000, "VisualQA": 1000, "TRitW": 5000}


def training_targets(task: str, n: int) -> set[str]:
    """Lower-cased canonical answers of the first ``n`` samples of the train split (seed 1)."""
    from synthetic_fbc2 import generate_samples
    from synthetic_fbc2.scenes import caption_with_positions
    from synthetic_fbc2.synthetic import split_keys

    seed = SPLITS["train"].seed
    if task == "ImageCaptioning":  # the caption is a function of the scene, which is the key
        return {caption_with_positions(parse_scene_text(key)) for key in split_keys(task, n, seed, "train")}
    if task == "TRitW":  # the key is the text and its style
        return {key.split("|")[0].lower() for key in split_keys(task, n, seed, "train")}
    return {s.answers[0].lower() for s in generate_samples(task, n, seed, split="train")}


def train_overlap(data: TestSet) -> str:
    """How many of the set's canonical answers the demo saw, word for word, as training targets."""
    parts = []
    for task, n in DEMO_TRAIN_COUNTS.items():
        targets = training_targets(task, n)
        seen = sum(data.golds(i)[0].lower() in targets for i in data.ids[task])
        parts.append(f"{task} {seen} of {len(data.ids[task])}")
    return ("Canonical answers of this set that are word for word a training target of the demo "
            "(train split, seed 1, its per-task counts): " + ", ".join(parts) + ".")


# --- output -------------------------------------------------------------------------------------

def markdown_table(rows: list[tuple[str, dict]], tasks=OPEN_TASKS) -> str:
    head = "| system | " + " | ".join(tasks) + " |"
    lines = [head, "|" + " --- |" * (len(tasks) + 1),
             "| *metric* | " + " | ".join(f"*{HEADLINE[t]}*" for t in tasks) + " |"]
    for name, report in rows:
        lines.append(f"| {name} | " + " | ".join(cell(report[t]["values"]) if t in report else "—"
                                                 for t in tasks) + " |")
    return "\n".join(lines)


def components_table(rows: list[tuple[str, dict]], task: str) -> str:
    names = [n for n in rows[0][1][task]["components"]] if rows else []
    lines = [f"| {task} | " + " | ".join(names) + " |", "|" + " --- |" * (len(names) + 1)]
    for name, report in rows:
        if task in report:
            lines.append(f"| {name} | " + " | ".join(cell(report[task]["components"].get(n)) for n in names) + " |")
    return "\n".join(lines)


def paired_verdicts(system: tuple[str, dict], baseline: tuple[str, dict]) -> str:
    """Per task: system minus baseline, mean ± standard error of the per-sample differences."""
    lines = [f"{system[0]} against {baseline[0]} (paired per-sample differences, mean ± stderr):"]
    for task in OPEN_TASKS:
        a, b = system[1][task]["values"], baseline[1][task]["values"]
        mean, se = mean_se([x - y for x, y in zip(a, b, strict=True)])
        if mean is None:
            continue
        beats = se is not None and mean >= 2 * se and mean > 0
        lines.append(f"  {task}: {mean:+.3f} ± {se or 0:.3f}: " + ("beats it by >= 2 stderr" if beats else "does NOT"))
    return "\n".join(lines)


def wall_times(timings: dict, candidates: list[str]) -> str:
    """One line per system: the wall time of its two run.py calls, per sample (a resumed call: only
    what it had left to do)."""
    lines = ["Wall time of run.py" + (f" ({' '.join(candidates)})" if candidates else "") + ":"]
    for name, calls in timings.items():
        lines.append(f"  {name}: " + "; ".join(f"{call} {seconds:.0f} s for {n} samples ({seconds / max(n, 1):.2f} s/sample)"
                                              for call, (seconds, n) in calls.items()))
    return "\n".join(lines)


NOTE = ("TextQA, MathQA, VisualQA and TRitW: official metrics (evaluator.metrics). ImageGeneration and "
        "ImageCaptioning: offline stand-ins on the synthetic shape scenes, NOT the official CLIP/FID and "
        "CLIP+METEOR (see docs/quality.md). Cells: mean ± standard error over the set's samples.")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--set", "--heldout", dest="set", type=Path, default=None,
                   help="FBC2 set with ground truth (default data/<split>; made when absent)")
    p.add_argument("--split", choices=sorted(SPLITS), default="heldout",
                   help="split of a newly made set (default heldout: development; test: the reported figures)")
    p.add_argument("--seed", type=int, default=None, help="seed of a newly made set (default: the split's)")
    p.add_argument("--per-task", type=int, default=50, help="size of a newly made set (default 50)")
    p.add_argument("--readme", action="store_true",
                   help=f"the README table: --split test, {README_PER_TASK} per task, and (unless systems are given) "
                   "demo=weights/demo, --best-constant, --random-like weights/demo, --ceiling weights/demo")
    p.add_argument("--system", action="append", default=[], metavar="NAME=DIR", help="a weights directory to run")
    p.add_argument("--random-like", type=Path, action="append", default=[], metavar="DIR",
                   help="also run DIR's pipeline with a random RUDOLPH of the same config")
    p.add_argument("--random-seeds", type=int, nargs="+", default=[0], metavar="SEED",
                   help="seeds of the random RUDOLPHs for --random-like (default: 0)")
    p.add_argument("--best-constant", action="store_true", help="add the best constant answer per task")
    p.add_argument("--constant", action="append", default=[], metavar="TEXT", help="a system answering TEXT everywhere")
    p.add_argument("--ceiling", type=Path, default=None, metavar="DIR",
                   help="add ImageGeneration rows for the gold images and their reconstructions by DIR's VQGAN")
    p.add_argument("--train-overlap", action="store_true",
                   help="also count the set's answers that are training targets of the demo's data")
    p.add_argument("--compare", default=None, metavar="NAME", help="system compared with the best constant")
    p.add_argument("--work", type=Path, default=None, help="folder for outputs (default: a temporary one); "
                   "a run already there is resumed, not redone")
    p.add_argument("--out", type=Path, default=None, help="also write the Markdown tables here")
    p.add_argument("--json", type=Path, default=None, help="write every per-sample value here")
    p.add_argument("--run-arg", action="append", default=[], help="an extra argument for run.py (repeatable)")
    p.add_argument("--image-candidates", type=int, default=1, metavar="N",
                   help="run.py --image-candidates N for the ImageGeneration images (default 1: no self-reranking)")
    p.add_argument("--answer-candidates", type=int, default=1, metavar="N",
                   help="run.py --answer-candidates N for the answers (default 1: no self-reranking)")
    args = p.parse_args(argv)

    if args.image_candidates < 1 or args.answer_candidates < 1:
        p.error("--image-candidates and --answer-candidates: expected a whole number >= 1")
    if len(set(args.random_seeds)) != len(args.random_seeds):
        p.error(f"--random-seeds {' '.join(map(str, args.random_seeds))}: each seed once")
    if "--text-only-image" in args.run_arg or "--text-only-image=generated" in args.run_arg:
        p.error("--run-arg --text-only-image: answers are made without images here (see run_pipeline)")
    if args.readme:
        args.split, args.per_task = "test", max(args.per_task, README_PER_TASK)
        if not (args.system or args.random_like or args.constant):
            args.system, args.random_like = [f"demo={ROOT / 'weights' / 'demo'}"], [ROOT / "weights" / "demo"]
            args.best_constant, args.ceiling = True, args.ceiling or ROOT / "weights" / "demo"
    systems = []
    for spec in args.system:
        name, _, folder = spec.partition("=")
        if not name or not folder:
            p.error(f"--system {spec!r}: expected NAME=DIR")
        systems.append((name, Path(folder)))
    folder = args.set or ROOT / "data" / (args.split if args.seed is None else f"{args.split}_{args.seed}")
    ensure_set(folder, args.split, args.per_task, args.seed)
    data = TestSet(folder)
    work = args.work or Path(tempfile.mkdtemp(prefix="fbc2_quality_"))

    rows, timings = [], {}
    answer_extra = ["--answer-candidates", str(args.answer_candidates)] if args.answer_candidates > 1 else []
    image_extra = ["--image-candidates", str(args.image_candidates)] if args.image_candidates > 1 else []
    for name, weights in systems:
        timings[name] = {}
        predictions = run_pipeline(weights, data, work / name, args.run_arg, answer_extra, image_extra, timings[name])
        rows.append((name, score_predictions(predictions, work / name, data)))
    for source in args.random_like:
        for seed in args.random_seeds:
            weights = random_weights_like(source, work / f"random_{source.name}_{seed}_weights", seed)
            out = work / f"random_{source.name}_{seed}"
            rows.append((f"random RUDOLPH like {source.name} (seed {seed})",
                         score_predictions(run_pipeline(weights, data, out, args.run_arg), out, data)))
    chosen = {}
    if args.best_constant:
        out = work / "best_constant"
        predictions, chosen = best_constant_predictions(data, out)
        rows.append(("best constant", score_predictions(predictions, write_predictions(out, predictions), data)))
    for index, text in enumerate(args.constant):
        out = write_predictions(work / f"constant_{index}", constant_predictions(text, data))
        rows.append((f"constant '{text}'", score_predictions(constant_predictions(text, data), out, data)))
    ceiling_rows = []
    if args.ceiling:
        out = work / "ceiling"
        gold, recon = ceiling_predictions(data, args.ceiling, out)
        for name, predictions in (("gold images", gold),
                                  (f"VQGAN reconstructions ({args.ceiling.name})", recon)):
            report = score_predictions(predictions, out, data)
            ceiling_rows.append((name, {"ImageGeneration": report["ImageGeneration"]}))

    n = {task: len(ids) for task, ids in data.ids.items()}
    parts = [f"Set: {folder} ({', '.join(f'{t} {k}' for t, k in n.items())} samples).", NOTE, "",
             markdown_table(rows + ceiling_rows), ""]
    for task in ("ImageGeneration", "ImageCaptioning"):
        parts += [components_table(rows + (ceiling_rows if task == "ImageGeneration" else []), task), ""]
    if chosen:
        parts += ["Best constants: " + "; ".join(f"{t}: `{c}`" for t, c in chosen.items()), ""]
    by_name = dict(rows)
    compare = args.compare or (systems[0][0] if systems else None)
    if compare and "best constant" in by_name:
        if compare not in by_name:
            p.error(f"--compare {compare!r}: no such system")
        parts += [paired_verdicts((compare, by_name[compare]), ("best constant", by_name["best constant"])), ""]
    if args.train_overlap:
        parts += [train_overlap(data), ""]
    if timings:
        parts += [wall_times(timings, answer_extra + image_extra), ""]
    text = "\n".join(parts)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({"set": str(folder), "constants": chosen, "rows": dict(rows + ceiling_rows),
                                         "wall_seconds": timings},
                                        ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
