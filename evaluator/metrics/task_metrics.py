"""Task-level metrics: how a task's per-sample values become its score.

`TASK_METRICS` is the registry the task file refers to by name. Each metric declares on itself,
as lm-evaluation-harness's `aggregation()` / `higher_is_better()` do: the prediction item type it
reads (`output`), whether the non-official caption extras apply to it (`has_extras`) and are on by
default for a hidden task given this metric (`extras_by_default`), and which per-sample values its
score is the mean of (`sample_values`, the input of the bootstrap standard error; None when the
score is no such mean, with `no_stderr_reason`).

A metric takes plain data (`TaskData`), as pycocoevalcap's ``compute_score(gts, res)`` does: the
scoring step has read each sample's prediction once and recorded its problem, if any. A component
that cannot be computed (no weights) is None and so is the task score; nothing is filled in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from evaluator.errors import NotComputed, WeightsUnavailable
from evaluator.metrics.context import MetricContext
from evaluator.metrics.text import TEXT_METRICS

CLIP_BATCH = 16
FID_CAP = 200.0  # FID's term in ImageGeneration: (200 - min(200, FID)) / 200


@dataclass
class TaskResult:
    score: float | None
    components: dict = field(default_factory=dict)
    per_sample: dict = field(default_factory=dict)  # {component: {sample id: value}}
    not_computed: list = field(default_factory=list)


@dataclass(frozen=True)
class TaskData:
    """One task's samples as its metric reads them. Reference images are opened only when a
    component that needs them is computed (the callables record their own warnings)."""

    task_name: str
    sample_ids: list[str]
    predictions: dict  # text tasks: the answer (str) or None; image tasks: the RGB image or None
    golds: dict  # text tasks: the gold answers or None (none usable); image tasks: empty
    captions: dict  # ImageGeneration: the caption from the input or None
    has_inputs: bool  # whether input.json was given (CLIP needs it)
    input_image: Callable[[str], object | None]  # sample id -> the input's RGB image or None
    gold_images: Callable[[], list]  # every readable ground-truth image of the task


def mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


class TextMetric:
    """Mean over samples of an official per-sample text metric (missing prediction = 0)."""

    output = "text"
    has_extras = True
    no_stderr_reason = None

    def __init__(self, name: str, extras_by_default: bool = False):
        self.name = name
        self.extras_by_default = extras_by_default

    @staticmethod
    def higher_is_better() -> bool:
        return True

    def per_sample(self, data: TaskData, ctx: MetricContext) -> dict[str, float]:
        function = TEXT_METRICS[self.name]
        values = {}
        for sample_id in ctx.progress(data.sample_ids, data.task_name):
            golds, prediction = data.golds[sample_id], data.predictions[sample_id]
            values[sample_id] = 0.0 if golds is None or prediction is None else function(prediction, golds,
                                                                                          ctx.synonyms)
        return values

    def score(self, data: TaskData, ctx: MetricContext) -> TaskResult:
        values = self.per_sample(data, ctx)
        score = mean(values.values())
        return TaskResult(score, {self.name: score}, {self.name: values})

    def sample_values(self, result: TaskResult) -> list[float] | None:
        values = result.per_sample.get(self.name)
        return list(values.values()) if values is not None else None


def clip_scores(pairs: dict, ctx: MetricContext, task_name: str) -> dict[str, float]:
    """Cosine similarity per sample id for {id: (image or None, text or None)}; unusable pairs 0."""
    scorer = ctx.clip_scorer()
    values = {sample_id: 0.0 for sample_id in pairs}
    usable = [(sid, image, text) for sid, (image, text) in pairs.items() if image is not None and text]
    batches = [usable[i:i + CLIP_BATCH] for i in range(0, len(usable), CLIP_BATCH)]
    for batch in ctx.progress(batches, f"{task_name} CLIP"):
        sims = scorer.similarity([image for _, image, _ in batch], [text for _, _, text in batch])
        for (sample_id, _, _), sim in zip(batch, sims, strict=True):
            values[sample_id] = float(sim)
    return values


class CaptioningMetric:
    """ImageCaptioning: (METEOR + CLIP) / 2. METEOR as VisualQA's; CLIP between the input image
    (the first image item of the input) and the predicted caption."""

    output = "text"
    has_extras = True
    extras_by_default = True
    no_stderr_reason = None
    meteor = TextMetric("vqa_meteor")

    @staticmethod
    def higher_is_better() -> bool:
        return True

    def score(self, data: TaskData, ctx: MetricContext) -> TaskResult:
        meteor_values = self.meteor.per_sample(data, ctx)
        meteor = mean(meteor_values.values())
        result = TaskResult(None, {"meteor": meteor, "clip": None}, {"meteor": meteor_values})
        try:
            ctx.clip_scorer()
            if not data.has_inputs:
                raise NotComputed("CLIP needs the input images (--input input.json)")
        except (WeightsUnavailable, NotComputed) as error:
            result.not_computed.append(f"CLIP: {error}")
            return result
        pairs = {sid: (data.input_image(sid), data.predictions[sid]) for sid in data.sample_ids}
        clip_values = clip_scores(pairs, ctx, data.task_name)
        clip = mean(clip_values.values())
        result.components["clip"] = clip
        result.per_sample["clip"] = clip_values
        result.score = (meteor + clip) / 2
        return result

    def sample_values(self, result: TaskResult) -> list[float] | None:
        meteor, clip = result.per_sample.get("meteor"), result.per_sample.get("clip")
        if not meteor or not clip:
            return None
        return [(meteor[sid] + clip[sid]) / 2 for sid in meteor]


class GenerationMetric:
    """ImageGeneration: (CLIP + (200 - min(200, FID)) / 200) / 2.

    CLIP between each generated image (the first image item of the prediction) and the caption
    from the input; FID between all ground-truth images and all readable generated images."""

    output = "image"
    has_extras = False
    extras_by_default = False
    no_stderr_reason = "FID is a statistic of the whole image set"

    @staticmethod
    def higher_is_better() -> bool:
        return True

    def score(self, data: TaskData, ctx: MetricContext) -> TaskResult:
        generated = data.predictions
        result = TaskResult(None, {"clip": None, "fid": None, "fid_term": None})
        result.components["generated_images"] = sum(image is not None for image in generated.values())
        try:
            if not data.has_inputs:
                raise NotComputed("CLIP needs the captions from the input (--input input.json)")
            pairs = {sid: (generated[sid], data.captions.get(sid)) for sid in data.sample_ids}
            clip_values = clip_scores(pairs, ctx, data.task_name)
            result.components["clip"] = mean(clip_values.values())
            result.per_sample["clip"] = clip_values
        except (WeightsUnavailable, NotComputed) as error:
            result.not_computed.append(f"CLIP: {error}")
        try:
            fid = self.fid(data, ctx)
            result.components["fid"] = fid
            result.components["fid_term"] = (FID_CAP - min(FID_CAP, fid)) / FID_CAP
        except (WeightsUnavailable, NotComputed) as error:
            result.not_computed.append(f"FID: {error}")
        if result.components["clip"] is not None and result.components["fid_term"] is not None:
            result.score = (result.components["clip"] + result.components["fid_term"]) / 2
        return result

    @staticmethod
    def fid(data: TaskData, ctx: MetricContext) -> float:
        model = ctx.inception()
        references = data.gold_images()
        produced = [image for image in data.predictions.values() if image is not None]
        if len(references) < 2 or len(produced) < 2:
            raise NotComputed(f"FID needs at least 2 images per set (ground truth {len(references)}, "
                              f"generated {len(produced)})")
        try:
            return float(ctx.module("inception").fid_from_images(references, produced, model))
        except ValueError as error:  # e.g. a complex matrix square root: no number to report
            raise NotComputed(f"FID computation failed: {error}") from None

    def sample_values(self, result: TaskResult) -> list[float] | None:
        return None


TASK_METRICS = {
    "textqa_f1": TextMetric("textqa_f1"),
    "mathqa_exact": TextMetric("mathqa_exact"),
    "tritw_ned": TextMetric("tritw_ned"),
    "vqa_meteor": TextMetric("vqa_meteor", extras_by_default=True),
    "captioning_meteor_clip": CaptioningMetric(),
    "generation_clip_fid": GenerationMetric(),
}
METRIC_OUTPUT = {name: metric.output for name, metric in TASK_METRICS.items()}  # the prediction item type each reads
