"""Score one submission against the reference: every task, the integral score, thresholds,
problem counts and the non-official extras, as a `ScoreReport`.

The steps, in order: check the files for a mix-up (`check_submission`), read every scored
prediction once (`read_submission`), score each task (`score_task`: its data, its metric, its
standard error, its extras, its problem counts), then add the tasks up (`integral_parts`).
"""

from __future__ import annotations

import os

from evaluator.errors import SuspectedMistake, WeightsUnavailable
from evaluator.io.files import read_json_object
from evaluator.io.items import MISSING, Problem
from evaluator.io.predictions import Prediction, Submission, open_predicted_image, read_submission
from evaluator.io.reference import Reference, ReferenceSample, load_reference, same_file
from evaluator.io.sanity import check_ids, check_swapped
from evaluator.metrics.caption_extras import NON_OFFICIAL_NOTE, caption_extras
from evaluator.metrics.context import MetricContext
from evaluator.metrics.ruwordnet import RuWordNetSynonyms
from evaluator.metrics.standard_error import METHOD as STDERR_METHOD
from evaluator.metrics.standard_error import bootstrap_stderr, combined_stderr
from evaluator.metrics.task_metrics import TASK_METRICS, TaskData, TaskResult
from evaluator.options import ScoreOptions
from evaluator.scoring.types import Problems, SampleRecord, ScoreReport, TaskScore
from evaluator.tasks import Registry, Task

DIFFERENCES_FROM_OFFICIAL = [
    "ImageGeneration reads the generated image from the first image item of a prediction (the contract); "
    "the official script reads the second item.",
    "Missing predictions score 0 and count in every task mean (the official scripts skip or assert).",
    "ImageCaptioning METEOR is the VisualQA variant (spec); the official captioning script tokenizes with "
    "razdel and keeps METEOR's fragmentation penalty (gamma 0.5).",
    "VisualQA's numeric rule takes the first token that parses as a number (the official code uses NLTK's "
    "English POS tagger to find it).",
]
INTEGRAL_STDERR_METHOD = (STDERR_METHOD + "; the integral's stderr combines the task stderrs as independent "
                          "(tasks without one, such as ImageGeneration, add nothing)")


def synonym_source(path: str | None):
    """(RuWordNetSynonyms or None, human-readable status of the METEOR synonym stage)."""
    if not path:
        return None, "skipped: no RuWordNet database given (--ruwordnet DB)"
    try:
        return RuWordNetSynonyms(path), f"used: {path}"
    except WeightsUnavailable as error:
        return None, f"skipped: {error}"


def check_submission(reference: Reference, predictions: dict, options: ScoreOptions) -> list[str]:
    """SuspectedMistake on swapped files or another set's predictions; the warnings to keep."""
    registry = reference.registry
    check_swapped(reference.ground_truth, predictions, reference.task_ids, registry)
    return check_ids(reference.ground_truth, predictions, reference.task_ids, registry, options.allow_id_mismatch)


# ----- one task -----------------------------------------------------------------------------------
def _input_image_reader(reference: Reference, samples: dict[str, ReferenceSample], task: str, ctx: MetricContext):
    def input_image(sample_id: str):
        sample = samples[sample_id]
        if sample.input_image_issue:
            ctx.warnings.append(sample.input_image_issue)
        return _reference_image(reference, sample.input_image, task, sample_id, ctx)
    return input_image


def _gold_images_reader(reference: Reference, samples: list[ReferenceSample], task: str, ctx: MetricContext):
    def gold_images() -> list:
        images = []
        for sample in samples:
            if sample.gold_image_issue:
                ctx.warnings.append(sample.gold_image_issue)
            image = _reference_image(reference, sample.gold_image, task, sample.sample_id, ctx)
            if image is not None:
                images.append(image)
        return images
    return gold_images


def _reference_image(reference: Reference, path: str | None, task: str, sample_id: str, ctx: MetricContext):
    if not path:
        return None
    image, error = reference.image(path)
    if image is None:
        ctx.warnings.append(f"{task} sample {sample_id}: cannot read reference image {path}: {error}")
    return image


def task_data(task: Task, reference: Reference, predictions: dict[str, Prediction],
              ctx: MetricContext) -> tuple[TaskData, list[Problem]]:
    """What the task's metric reads, and the problems of its predictions (in sample order)."""
    samples = reference.task_samples(task)
    values, golds, problems = {}, {}, []
    if task.output == "text":
        for sample in samples:
            if sample.golds is None:
                ctx.warnings.append(f"{task.name} sample {sample.sample_id}: ground truth has no text answers; scored 0")
            golds[sample.sample_id] = sample.golds
            prediction = predictions[sample.sample_id]
            values[sample.sample_id] = prediction.text
            problems += [prediction.problem] if prediction.problem else []
    else:
        for sample in ctx.progress(samples, f"{task.name} images"):
            prediction = predictions[sample.sample_id]
            image, problem = (None, prediction.problem) if prediction.image_path is None else \
                open_predicted_image(prediction, task.name)
            values[sample.sample_id] = image
            problems += [problem] if problem else []
    by_id = {s.sample_id: s for s in samples}
    data = TaskData(task.name, [s.sample_id for s in samples], values, golds,
                    {s.sample_id: s.caption for s in samples}, reference.inputs is not None,
                    _input_image_reader(reference, by_id, task.name, ctx),
                    _gold_images_reader(reference, samples, task.name, ctx))
    return data, problems


def _stderr(metric, result: TaskResult) -> tuple[float | None, str | None]:
    """(the bootstrap stderr of the task score, why there is none)."""
    if result.score is None:
        return None, None
    values = metric.sample_values(result)
    stderr = bootstrap_stderr(values) if values else None
    if stderr is not None:
        return stderr, None
    return None, metric.no_stderr_reason if values is None else "fewer than 2 samples"


def sample_records(task: Task, reference: Reference, predictions: dict[str, Prediction], per_sample: dict,
                   problems: list[Problem]) -> list[SampleRecord]:
    problem_of = {p.sample_id: f"{p.kind}: {p.detail}" for p in problems}
    records = []
    for sample in reference.task_samples(task):
        prediction = predictions.get(sample.sample_id)
        shown = None if prediction is None else (prediction.text if task.output == "text" else prediction.image_path)
        scores = {name: values[sample.sample_id] for name, values in per_sample.items() if sample.sample_id in values}
        records.append(SampleRecord(task.name, sample.sample_id, task.output or "text", shown, sample.golds,
                                    sample.gold_image, sample.caption, scores, problem_of.get(sample.sample_id)))
    return records


def reference_records(reference: Reference) -> list[SampleRecord]:
    """A record of every sample of the reference, with no prediction (what a gallery shows first)."""
    return [record for task in reference.registry.tasks for record in sample_records(task, reference, {}, {}, [])]


def score_task(task: Task, reference: Reference, submission: Submission,
               ctx: MetricContext) -> tuple[TaskScore, dict | None, list[Problem], list[SampleRecord]]:
    """The task's score, its extras (None when not computed), its problems and its sample records."""
    samples = reference.task_samples(task)
    entry = TaskScore(task.name, task.id, task.kind, task.metric, len(samples), task.threshold, task.baseline)
    extras, problems = None, []
    predictions = submission.predictions.get(task.name, {})
    if not samples:
        entry.not_computed.append("no samples of this task in the set")
    elif task.metric is None:
        entry.not_computed.append("metric not set for this hidden task (set it in a --tasks file)")
    else:
        metric = TASK_METRICS[task.metric]
        data, problems = task_data(task, reference, predictions, ctx)
        result = metric.score(data, ctx)
        entry.score, entry.components = result.score, result.components
        entry.per_sample, entry.not_computed = result.per_sample, result.not_computed
        entry.stderr, entry.stderr_note = _stderr(metric, result)
        if task.extras and ctx.options.extras and metric.has_extras:
            extras = caption_extras([(data.predictions[sid] or "", data.golds[sid]) for sid in data.sample_ids
                                     if data.golds[sid]])
    entry.missing = sum(p.kind == MISSING for p in problems)
    entry.malformed = len({p.sample_id for p in problems if p.kind != MISSING})
    if entry.score is not None and task.threshold is not None:
        entry.passes_threshold = entry.score >= task.threshold
    return entry, extras, problems, sample_records(task, reference, predictions, entry.per_sample, problems)


# ----- the whole submission ---------------------------------------------------------------------
def thresholds_summary(thresholds: dict) -> str:
    """'4/4 scoreable pass', '3/4 scoreable pass, 2 not computed' ...: the open tasks' prize thresholds."""
    known = [value for value in thresholds.values() if value is not None]
    text = f"{sum(known)}/{len(known)} scoreable pass"
    unknown = len(thresholds) - len(known)
    return text + (f", {unknown} not computed" if unknown else "")


def integral_note(partial: bool, absent: list[str]) -> str:
    notes = []
    if partial:
        notes.append("partial: some task scores could not be computed and count 0 in this sum")
    if absent:
        notes.append(f"tasks without samples count 0: {', '.join(absent)}")
    return "; ".join(notes) or "complete"


def prize_eligibility(thresholds: dict[str, bool | None]) -> bool | None:
    """False when an open task fails its threshold, True when all pass, None when some are unknown."""
    if any(value is False for value in thresholds.values()):
        return False
    if thresholds and all(value is True for value in thresholds.values()):
        return True
    return None


def integral_parts(registry: Registry, tasks: dict[str, TaskScore]) -> dict:
    """The integral score (a task without a score counts 0), its stderr, partiality, thresholds."""
    weighted = [(registry.weight(task), tasks[task.name]) for task in registry.tasks]
    thresholds = {t.name: tasks[t.name].passes_threshold for t in registry.tasks
                  if t.kind == "open" and t.threshold is not None}
    partial = any(entry.n > 0 and entry.score is None for entry in tasks.values())
    absent = [name for name, entry in tasks.items() if entry.n == 0]
    return {"integral": sum(w * (entry.score or 0.0) for w, entry in weighted),
            "integral_stderr": combined_stderr([(w, entry.stderr) for w, entry in weighted if entry.stderr is not None]),
            "partial": partial, "integral_note": integral_note(partial, absent), "absent_tasks": absent,
            "thresholds": thresholds, "thresholds_summary": thresholds_summary(thresholds),
            "prize_eligible": prize_eligibility(thresholds)}


def score_predictions(reference: Reference, predictions: dict, predictions_dir: str,
                      options: ScoreOptions | None = None) -> ScoreReport:
    """Score one submission's loaded predictions (image paths relative to `predictions_dir`)
    against a reference from `load_reference` (checked there, once, however many teams are scored)."""
    options = options or ScoreOptions()
    registry = reference.registry
    warnings = check_submission(reference, predictions, options) + list(reference.warnings)
    submission = read_submission(reference, predictions, predictions_dir)
    if submission.unknown_ids:
        warnings.append(f"{len(submission.unknown_ids)} prediction ids are not in the ground truth and are ignored "
                        f"(e.g. {submission.unknown_ids[0]})")
    synonyms, synonym_status = synonym_source(options.ruwordnet)
    ctx = MetricContext(options, synonyms, warnings)
    tasks, extras, problems, records = {}, {}, [], []
    for task in registry.tasks:
        entry, task_extras, task_problems, task_records = score_task(task, reference, submission, ctx)
        tasks[task.name] = entry
        if task_extras is not None:
            extras[task.name] = task_extras
        problems += task_problems
        records += task_records
    not_computed = [f"{name}: {reason}" for name, entry in tasks.items() if entry.n for reason in entry.not_computed]
    return ScoreReport(tasks=tasks, **integral_parts(registry, tasks), stderr_method=INTEGRAL_STDERR_METHOD,
                       not_computed=not_computed, baseline_integral=registry.baseline_integral,
                       synonym_stage=synonym_status, problems=Problems(problems), warnings=ctx.warnings,
                       extras_note=NON_OFFICIAL_NOTE, extras=extras, differences_from_official=DIFFERENCES_FROM_OFFICIAL,
                       samples=records)


def load_submission(ground_truth_path: str, predictions_path: str, task_ids_path: str, input_path: str | None = None,
                    registry: Registry | None = None) -> tuple[Reference, dict]:
    """The reference files and one submission's predictions, each read once (InputError on unreadable
    ones, SuspectedMistake on a mix-up)."""
    if same_file(ground_truth_path, predictions_path):
        raise SuspectedMistake(f"--ground-truth and --predictions are the same file ({predictions_path})")
    reference = load_reference(ground_truth_path, task_ids_path, input_path, registry)
    return reference, read_json_object(predictions_path, "predictions")


def score_files(ground_truth_path: str, predictions_path: str, task_ids_path: str, *, input_path: str | None = None,
                registry: Registry | None = None, options: ScoreOptions | None = None) -> ScoreReport:
    """Read the FBC2 files (raising InputError on unreadable ones or a mix-up) and score them."""
    reference, predictions = load_submission(ground_truth_path, predictions_path, task_ids_path, input_path, registry)
    return score_predictions(reference, predictions, os.path.dirname(os.path.abspath(predictions_path)), options)
