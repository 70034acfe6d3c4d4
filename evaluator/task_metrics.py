"""Task-level metrics: how a task's per-sample values become its score.

`TASK_METRICS` is the registry the task file refers to by name. Each metric declares on itself the
prediction item type it reads (`output`); `METRIC_OUTPUT` is derived from them. Before any metric
runs, `resolve_task` reads each sample's prediction once (recording its problem, if any, once) and
hands the metric plain data, as pycocoevalcap's ``compute_score(gts, res)`` takes its inputs. A
component that cannot be computed (no weights) is None and so is the task score; nothing is
filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evaluator.weights import WeightsMissing

if TYPE_CHECKING:
    from evaluator.tasks import Task

CLIP_BATCH = 16


class NotComputed(Exception):
    """A component has no value for a reason other than missing weights (too few images, ...)."""


@dataclass
class TaskResult:
    score: float | None
    components: dict = field(default_factory=dict)
    per_sample: dict = field(default_factory=dict)  # {component: {sample id: value}}
    not_computed: list = field(default_factory=list)


@dataclass(frozen=True)
class TaskData:
    """One task's samples, resolved once: what every metric of the task reads."""

    task: Task
    sample_ids: list[str]
    predictions: dict  # text tasks: the answer (str) or None; image tasks: the RGB image or None
    golds: dict  # text tasks: the gold answers or None (none usable); image tasks: empty


def resolve_task(task: Task, sample_ids: list[str], output: str, ctx) -> TaskData:
    """Every sample's prediction of the item type ``output`` (and gold answers for text), read once;
    a missing or malformed prediction is None and its problem is recorded in ``ctx`` once."""
    predictions, golds = {}, {}
    if output == "text":
        for sample_id in sample_ids:
            golds[sample_id] = ctx.golds(task.name, sample_id)
            predictions[sample_id] = ctx.text_prediction(task.name, sample_id)
    else:
        for sample_id in _progress(sample_ids, task.name, ctx, " images"):
            path = ctx.image_prediction(task.name, sample_id)
            predictions[sample_id] = ctx.open_image(path, task.name, sample_id) if path else None
    return TaskData(task, list(sample_ids), predictions, golds)


def _mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _progress(items, task_name: str, ctx, what: str = ""):
    if not ctx.options.progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=f"{task_name}{what}", unit="sample", leave=False, disable=None)


class TextMetric:
    """Mean over samples of an official per-sample text metric (missing prediction = 0)."""

    output = "text"

    def __init__(self, name: str):
        self.name = name

    def per_sample(self, data: TaskData, ctx) -> dict[str, float]:
        from evaluator.metrics import TEXT_METRICS

        function = TEXT_METRICS[self.name]
        values = {}
        for sample_id in _progress(data.sample_ids, data.task.name, ctx):
            golds, prediction = data.golds[sample_id], data.predictions[sample_id]
            values[sample_id] = 0.0 if golds is None or prediction is None else function(prediction, golds,
                                                                                          ctx.synonyms)
        return values

    def score(self, data: TaskData, ctx) -> TaskResult:
        values = self.per_sample(data, ctx)
        score = _mean(values.values())
        return TaskResult(score, {self.name: score}, {self.name: values})


def _clip_scores(pairs: dict, ctx, task_name: str) -> dict[str, float]:
    """Cosine similarity per sample id for {id: (image or None, text or None)}; unusable pairs 0."""
    scorer = ctx.clip_scorer()
    values = {sample_id: 0.0 for sample_id in pairs}
    usable = [(sid, image, text) for sid, (image, text) in pairs.items() if image is not None and text]
    batches = [usable[i:i + CLIP_BATCH] for i in range(0, len(usable), CLIP_BATCH)]
    for batch in _progress(batches, task_name, ctx, " CLIP"):
        sims = scorer.similarity([image for _, image, _ in batch], [text for _, _, text in batch])
        for (sample_id, _, _), sim in zip(batch, sims, strict=True):
            values[sample_id] = float(sim)
    return values


class CaptioningMetric:
    """ImageCaptioning: (METEOR + CLIP) / 2. METEOR as VisualQA's; CLIP between the input image
    (the first image item of the input) and the predicted caption."""

    output = "text"

    def score(self, data: TaskData, ctx) -> TaskResult:
        task, sample_ids = data.task, data.sample_ids
        meteor_values = TextMetric("vqa_meteor").per_sample(data, ctx)
        meteor = _mean(meteor_values.values())
        result = TaskResult(None, {"meteor": meteor, "clip": None}, {"meteor": meteor_values})
        try:
            ctx.clip_scorer()
            if ctx.inputs is None:
                raise NotComputed("CLIP needs the input images (--input input.json)")
        except (WeightsMissing, NotComputed) as error:
            result.not_computed.append(f"CLIP: {error}")
            return result
        pairs = {}
        for sample_id in sample_ids:
            text = data.predictions[sample_id]
            path = ctx.input_image_path(task.name, sample_id)
            image = ctx.open_image(path, task.name, sample_id, predicted=False) if path else None
            pairs[sample_id] = (image, text)
        clip_values = _clip_scores(pairs, ctx, task.name)
        clip = _mean(clip_values.values())
        result.components["clip"] = clip
        result.per_sample["clip"] = clip_values
        result.score = (meteor + clip) / 2
        return result


class GenerationMetric:
    """ImageGeneration: (CLIP + (200 - min(200, FID)) / 200) / 2.

    CLIP between each generated image (the first image item of the prediction) and the caption
    from the input; FID between all ground-truth images and all readable generated images."""

    output = "image"

    def score(self, data: TaskData, ctx) -> TaskResult:
        task, sample_ids, generated = data.task, data.sample_ids, data.predictions
        result = TaskResult(None, {"clip": None, "fid": None, "fid_term": None})
        result.components["generated_images"] = sum(image is not None for image in generated.values())

        try:
            if ctx.inputs is None:
                raise NotComputed("CLIP needs the captions from the input (--input input.json)")
            pairs = {sid: (generated[sid], ctx.caption(task.name, sid)) for sid in sample_ids}
            clip_values = _clip_scores(pairs, ctx, task.name)
            result.components["clip"] = _mean(clip_values.values())
            result.per_sample["clip"] = clip_values
        except (WeightsMissing, NotComputed) as error:
            result.not_computed.append(f"CLIP: {error}")

        try:
            model = ctx.inception()
            references = []
            for sample_id in sample_ids:
                path = ctx.gold_image_path(task.name, sample_id)
                image = ctx.open_image(path, task.name, sample_id, predicted=False) if path else None
                if image is not None:
                    references.append(image)
            produced = [image for image in generated.values() if image is not None]
            if len(references) < 2 or len(produced) < 2:
                raise NotComputed(f"FID needs at least 2 images per set (ground truth {len(references)}, "
                                     f"generated {len(produced)})")
            from evaluator.fid import fid_from_images

            try:
                fid = float(fid_from_images(references, produced, model))
            except ValueError as error:  # e.g. a complex matrix square root: no number to report
                raise NotComputed(f"FID computation failed: {error}") from None
            result.components["fid"] = fid
            result.components["fid_term"] = (200 - min(200.0, fid)) / 200
        except (WeightsMissing, NotComputed) as error:
            result.not_computed.append(f"FID: {error}")

        if result.components["clip"] is not None and result.components["fid_term"] is not None:
            result.score = (result.components["clip"] + result.components["fid_term"]) / 2
        return result


TASK_METRICS = {
    "textqa_f1": TextMetric("textqa_f1"),
    "mathqa_exact": TextMetric("mathqa_exact"),
    "tritw_ned": TextMetric("tritw_ned"),
    "vqa_meteor": TextMetric("vqa_meteor"),
    "captioning_meteor_clip": CaptioningMetric(),
    "generation_clip_fid": GenerationMetric(),
}
METRIC_OUTPUT = {name: metric.output for name, metric in TASK_METRICS.items()}  # the prediction item type each reads
