"""One submission's predictions, read once into a typed record per scored sample."""

from __future__ import annotations

import os
from dataclasses import dataclass

from evaluator.io.images import open_rgb
from evaluator.io.items import (
    BAD_CONTENT,
    IMAGE_UNREADABLE,
    MISSING,
    Problem,
    first_item,
    image_file,
    without_surrogates,
)
from evaluator.io.reference import Reference

MAX_ANSWER_CHARS = 1000  # a text prediction is cut to this length before any metric sees it


@dataclass(frozen=True)
class Prediction:
    """What a sample's prediction holds for its task: the answer of a text task, the image file
    of an image task, or the problem that makes it unusable (then it scores 0)."""

    sample_id: str
    text: str | None = None
    image_path: str | None = None
    problem: Problem | None = None


@dataclass(frozen=True)
class Submission:
    folder: str  # the folder image paths are relative to (a real path, never a label)
    predictions: dict[str, dict[str, Prediction]]  # task name -> sample id -> prediction (tasks with a metric)
    unknown_ids: list[str]  # prediction ids that are not in the ground truth

    def problems(self, task: str) -> list[Problem]:
        return [p.problem for p in self.predictions.get(task, {}).values() if p.problem is not None]


def read_prediction(value, present: bool, task: str, sample_id: str, output: str, folder: str) -> Prediction:
    """The first item of type `output` of one prediction: text cut and cleaned, an image path
    checked to exist inside `folder`; or the problem."""
    if not present:
        return Prediction(sample_id, problem=Problem(sample_id, task, MISSING, "no prediction"))
    content, kind, detail = first_item(value, output)
    if kind is None and output == "text":
        if isinstance(content, str):
            return Prediction(sample_id, text=without_surrogates(content[:MAX_ANSWER_CHARS]))
        kind, detail = BAD_CONTENT, f"text content is {type(content).__name__}, not a string"
    elif kind is None:
        path, kind, detail = image_file(folder, content)
        if kind is None:
            return Prediction(sample_id, image_path=path)
    return Prediction(sample_id, problem=Problem(sample_id, task, kind, detail))


def read_submission(reference: Reference, predictions: dict, folder: str) -> Submission:
    """Every scored sample's prediction (tasks whose metric is set), in the reference's order."""
    by_task = {}
    for task in reference.registry.tasks:
        if task.metric is None:
            continue
        by_task[task.name] = {
            s.sample_id: read_prediction(predictions.get(s.sample_id), s.sample_id in predictions, task.name,
                                         s.sample_id, task.output, folder)
            for s in reference.task_samples(task)}
    unknown = [sid for sid in predictions if sid not in reference.ground_truth]
    return Submission(folder, by_task, unknown)


def open_predicted_image(prediction: Prediction, task: str):
    """(the RGB image of an image prediction, None) or (None, the problem that it cannot be read)."""
    try:
        return open_rgb(prediction.image_path), None
    except Exception as error:  # Pillow raises many kinds for broken files
        detail = f"{os.path.basename(prediction.image_path)}: {error}"
        return None, Problem(prediction.sample_id, task, IMAGE_UNREADABLE, detail)
