"""Score one submission against the ground truth: every task, the integral score, thresholds,
problem counts and the non-official extras, as one JSON-ready report dict."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

from evaluator import fbc2_files as files
from evaluator.context import ScoreOptions, ScoringContext
from evaluator.sanity import SuspectedMistake, check_ground_truth, check_ids, check_swapped
from evaluator.stderr import METHOD as STDERR_METHOD
from evaluator.stderr import bootstrap_stderr, combined_stderr, sample_values
from evaluator.task_metrics import TASK_METRICS, TaskData, resolve_task
from evaluator.tasks import Registry, load_registry
from evaluator.weights import WeightsMissing

DIFFERENCES_FROM_OFFICIAL = [
    "ImageGeneration reads the generated image from the first image item of a prediction (the contract); "
    "the official script reads the second item.",
    "Missing predictions score 0 and count in every task mean (the official scripts skip or assert).",
    "ImageCaptioning METEOR is the VisualQA variant (spec); the official captioning script tokenizes with "
    "razdel and keeps METEOR's fragmentation penalty (gamma 0.5).",
    "VisualQA's numeric rule takes the first token that parses as a number (the official code uses NLTK's "
    "English POS tagger to find it).",
]


@dataclass(frozen=True)
class Reference:
    """The files every submission is scored against, loaded once."""
    ground_truth: dict
    task_ids: dict
    inputs: dict | None
    ground_truth_dir: str
    input_dir: str | None


def _synonym_source(path: str | None):
    """(RuWordNetSynonyms or None, human-readable status of the METEOR synonym stage)."""
    if not path:
        return None, "skipped: no RuWordNet database given (--ruwordnet DB)"
    from evaluator.ruwordnet import RuWordNetSynonyms

    try:
        return RuWordNetSynonyms(path), f"used: {path}"
    except WeightsMissing as error:
        return None, f"skipped: {error}"


def score_loaded(ground_truth: dict, predictions: dict, task_ids: dict[str, int], *, inputs: dict | None = None,
                 ground_truth_dir: str = ".", predictions_dir: str = ".", input_dir: str | None = None,
                 registry: Registry | None = None, options: ScoreOptions | None = None) -> dict:
    """Score already-loaded FBC2 objects (see `score_files` for the paths version)."""
    registry = registry or load_registry()
    check_ground_truth(ground_truth, task_ids, registry)
    reference = Reference(ground_truth, task_ids, inputs, ground_truth_dir, input_dir)
    return _score(reference, predictions, predictions_dir, registry, options or ScoreOptions())


def _score(reference: Reference, predictions: dict, predictions_dir: str, registry: Registry,
           options: ScoreOptions) -> dict:
    """Score one submission against a reference whose ground truth is already checked."""
    ground_truth, task_ids = reference.ground_truth, reference.task_ids
    check_swapped(ground_truth, predictions, task_ids, registry)
    early_warnings: list[str] = []
    check_ids(ground_truth, predictions, task_ids, registry, options.allow_id_mismatch, early_warnings)
    synonyms, synonym_status = _synonym_source(options.ruwordnet)
    ctx = ScoringContext(ground_truth, predictions, reference.inputs, reference.ground_truth_dir, predictions_dir,
                         reference.input_dir, options=options, synonyms=synonyms, warnings=early_warnings)

    known_task_ids = registry.by_id()
    ids_by_task: dict[int, list[str]] = {task.id: [] for task in registry.tasks}
    for sample_id, task_id in task_ids.items():
        if sample_id not in ground_truth:
            ctx.warnings.append(f"sample {sample_id} is in the task-ids file but not in the ground truth; ignored")
        elif task_id not in known_task_ids:
            ctx.warnings.append(f"sample {sample_id} has task id {task_id}, which the registry does not know; ignored")
        else:
            ids_by_task[task_id].append(sample_id)
    without_task = [sid for sid in ground_truth if sid not in task_ids]
    if without_task:
        ctx.warnings.append(f"{len(without_task)} ground-truth samples have no task id and are not scored "
                            f"(e.g. {without_task[0]})")
    unknown = [sid for sid in predictions if sid not in ground_truth]
    if unknown:
        ctx.warnings.append(f"{len(unknown)} prediction ids are not in the ground truth and are ignored (e.g. {unknown[0]})")

    report_tasks: dict[str, dict] = {}
    extras: dict[str, dict] = {}
    not_computed: list[str] = []
    for task in registry.tasks:
        sample_ids = ids_by_task[task.id]
        problems_before = len(ctx.problems)
        entry = {"id": task.id, "kind": task.kind, "metric": task.metric, "score": None, "n": len(sample_ids),
                 "missing": 0, "malformed": 0, "components": {}, "not_computed": [], "threshold": task.threshold,
                 "passes_threshold": None, "baseline": task.baseline, "stderr": None, "stderr_note": None,
                 "per_sample": {}}
        if not sample_ids:
            entry["not_computed"].append("no samples of this task in the set")
        elif task.metric is None:
            entry["not_computed"].append("metric not set for this hidden task (set it in a --tasks file)")
        else:
            metric = TASK_METRICS[task.metric]
            data = resolve_task(task, sample_ids, metric.output, ctx)
            result = metric.score(data, ctx)
            entry["score"] = result.score
            entry["components"] = result.components
            entry["per_sample"] = result.per_sample
            entry["not_computed"] = result.not_computed
            values = sample_values(task.metric, result.per_sample) if result.score is not None else None
            entry["stderr"] = bootstrap_stderr(values) if values else None
            if entry["stderr"] is None and result.score is not None:
                entry["stderr_note"] = ("FID is a statistic of the whole image set" if values is None
                                        else "fewer than 2 samples")
            if task.extras and options.extras and metric.output == "text":
                extras[task.name] = _extras_for(data)
        task_problems = ctx.problems[problems_before:]
        entry["missing"] = sum(p.kind == files.MISSING for p in task_problems)
        entry["malformed"] = len({p.sample_id for p in task_problems if p.kind != files.MISSING})
        if entry["score"] is not None and task.threshold is not None:
            entry["passes_threshold"] = entry["score"] >= task.threshold
        if sample_ids:
            not_computed.extend(f"{task.name}: {reason}" for reason in entry["not_computed"])
        report_tasks[task.name] = entry

    integral = sum(registry.weight(task) * (report_tasks[task.name]["score"] or 0.0) for task in registry.tasks)
    integral_stderr = combined_stderr([(registry.weight(task), report_tasks[task.name]["stderr"])
                                       for task in registry.tasks if report_tasks[task.name]["stderr"] is not None])
    partial = any(entry["n"] > 0 and entry["score"] is None for entry in report_tasks.values())
    absent = [name for name, entry in report_tasks.items() if entry["n"] == 0]
    thresholds = {t.name: report_tasks[t.name]["passes_threshold"] for t in registry.tasks
                  if t.kind == "open" and t.threshold is not None}
    if any(value is False for value in thresholds.values()):
        prize_eligible = False
    elif thresholds and all(value is True for value in thresholds.values()):
        prize_eligible = True
    else:
        prize_eligible = None
    kinds = Counter(p.kind for p in ctx.problems)
    return {
        "tasks": report_tasks,
        "integral": integral,
        "integral_stderr": integral_stderr,
        "stderr_method": STDERR_METHOD + "; the integral's stderr combines the task stderrs as independent "
                         "(tasks without one, such as ImageGeneration, add nothing)",
        "partial": partial,
        "integral_note": _integral_note(partial, absent),
        "absent_tasks": absent,
        "not_computed": not_computed,
        "thresholds": thresholds,
        "thresholds_summary": thresholds_summary(thresholds),
        "prize_eligible": prize_eligible,
        "baseline_integral": registry.baseline_integral,
        "synonym_stage": synonym_status,
        "problems": {"missing": kinds.get(files.MISSING, 0),
                     "malformed": sum(n for k, n in kinds.items() if k != files.MISSING),
                     "by_kind": dict(sorted(kinds.items())),
                     "samples": [{"id": p.sample_id, "task": p.task, "kind": p.kind, "detail": p.detail}
                                 for p in ctx.problems]},
        "warnings": ctx.warnings,
        "extras": {"non_official": True, "note": _extras_note(), "tasks": extras},
        "differences_from_official": DIFFERENCES_FROM_OFFICIAL,
    }


def thresholds_summary(thresholds: dict) -> str:
    """'4/4 scoreable pass', '3/4 scoreable pass, 2 not computed' ...: the open tasks' prize thresholds."""
    known = [value for value in thresholds.values() if value is not None]
    text = f"{sum(known)}/{len(known)} scoreable pass"
    unknown = len(thresholds) - len(known)
    return text + (f", {unknown} not computed" if unknown else "")


def _extras_note() -> str:
    from evaluator.extras import NON_OFFICIAL_NOTE

    return NON_OFFICIAL_NOTE


def _integral_note(partial: bool, absent: list[str]) -> str:
    notes = []
    if partial:
        notes.append("partial: some task scores could not be computed and count 0 in this sum")
    if absent:
        notes.append(f"tasks without samples count 0: {', '.join(absent)}")
    return "; ".join(notes) or "complete"


def _extras_for(data: TaskData) -> dict:
    """The non-official caption measures over a text task's resolved predictions (missing = "")."""
    from evaluator.extras import caption_extras

    return caption_extras([(data.predictions[sid] or "", data.golds[sid]) for sid in data.sample_ids if data.golds[sid]])


def load_reference(ground_truth_path: str, task_ids_path: str, input_path: str | None = None,
                   registry: Registry | None = None) -> Reference:
    """Load the ground truth, sample ids and optional input (InputError on unreadable ones) and
    refuse an input file given as the ground truth."""
    if input_path and same_file(ground_truth_path, input_path):
        raise SuspectedMistake(f"--ground-truth and --input are the same file ({ground_truth_path}); "
                               "the ground truth is the answers file (ground_truth.json / output.json)")
    ground_truth = files.load_json(ground_truth_path, "ground-truth")
    task_ids = files.load_task_ids(task_ids_path)
    check_ground_truth(ground_truth, task_ids, registry or load_registry(), ground_truth_path)
    inputs = files.load_json(input_path, "input") if input_path else None
    return Reference(ground_truth, task_ids, inputs, os.path.dirname(os.path.abspath(ground_truth_path)),
                     os.path.dirname(os.path.abspath(input_path)) if input_path else None)


def same_file(a: str, b: str) -> bool:
    """Whether two paths name the same file or files with the same bytes."""
    from evaluator.provenance import sha256_of

    try:
        if os.path.samefile(a, b):
            return True
    except (OSError, ValueError):
        return False
    digest = sha256_of(a)
    return digest is not None and digest == sha256_of(b)


def score_predictions(reference: Reference, predictions: dict, predictions_dir: str, *,
                      registry: Registry | None = None, options: ScoreOptions | None = None) -> dict:
    """Score one submission's loaded predictions against a reference from `load_reference` (its
    ground truth checked there, once, however many teams are scored)."""
    return _score(reference, predictions, predictions_dir, registry or load_registry(), options or ScoreOptions())


def load_submission(ground_truth_path: str, predictions_path: str, task_ids_path: str, input_path: str | None = None,
                    registry: Registry | None = None) -> tuple[Reference, dict]:
    """The reference files and one submission's predictions, each read once (InputError on unreadable
    ones, SuspectedMistake on a mix-up)."""
    if same_file(ground_truth_path, predictions_path):
        raise SuspectedMistake(f"--ground-truth and --predictions are the same file ({predictions_path})")
    reference = load_reference(ground_truth_path, task_ids_path, input_path, registry)
    return reference, files.load_json(predictions_path, "predictions")


def score_files(ground_truth_path: str, predictions_path: str, task_ids_path: str, *, input_path: str | None = None,
                registry: Registry | None = None, options: ScoreOptions | None = None) -> dict:
    """Load the FBC2 files (raising InputError on unreadable ones or a mix-up) and score them."""
    reference, predictions = load_submission(ground_truth_path, predictions_path, task_ids_path, input_path, registry)
    return score_predictions(reference, predictions, os.path.dirname(os.path.abspath(predictions_path)),
                             registry=registry, options=options)
