"""Checks that catch the usual mistakes before a score is printed.

Each check looks at the loaded files only and raises `SuspectedMistake` (an `InputError`: one line,
exit status 2) with what was seen and what to do:

- the ground truth is really an input file (text tasks carry their input image, ImageGeneration
  its caption);
- ground truth and predictions are swapped (the "predictions" hold lists of answers, the
  "ground truth" single strings);
- the predictions belong to another set: most of their ids are not in the ground truth, or their ids
  match but most values lack an item of the task's output type. `--allow-id-mismatch` scores
  anyway (with a warning).
"""

from __future__ import annotations

import reprlib

from evaluator.errors import SuspectedMistake
from evaluator.io.items import first_item, item_types
from evaluator.tasks import Registry

MOSTLY = 0.5  # a share above this is "most"


def _scored(ground_truth: dict, task_ids: dict[str, int], registry: Registry) -> list[tuple[str, str]]:
    """(sample id, the task's output type) of every ground-truth sample of a task with an output type."""
    outputs = {t.id: t.output for t in registry.tasks}
    return [(sid, outputs[tid]) for sid, tid in task_ids.items()
            if sid in ground_truth and outputs.get(tid) in ("text", "image")]


def looks_like_input(value, output: str) -> bool:
    """A ground-truth value that holds a task's input: an image for a text task, only text for an image task."""
    types = item_types(value)
    return ("image" in types) if output == "text" else (bool(types) and "image" not in types)


def text_shape(value) -> str | None:
    """'answers' (a list of strings: ground truth), 'single' (a string: a prediction) or None."""
    content, problem, _ = first_item(value, "text")
    if problem is not None:
        return None
    if isinstance(content, list):
        return "answers"
    return "single" if isinstance(content, str) else None


def check_ground_truth(ground_truth: dict, task_ids: dict[str, int], registry: Registry, path: str = "ground truth") -> None:
    scored = _scored(ground_truth, task_ids, registry)
    suspicious = [sid for sid, output in scored if looks_like_input(ground_truth[sid], output)]
    if scored and len(suspicious) > MOSTLY * len(scored):
        raise SuspectedMistake(
            f"the ground truth {path} looks like an input file: {len(suspicious)} of {len(scored)} samples hold the "
            f"task's input (an image for a text task, a caption for ImageGeneration), e.g. sample {suspicious[0]}; "
            "pass the answers file (ground_truth.json / output.json) as --ground-truth")


def check_swapped(ground_truth: dict, predictions: dict, task_ids: dict[str, int], registry: Registry) -> None:
    texts = [sid for sid, output in _scored(ground_truth, task_ids, registry) if output == "text"]
    if not texts:
        return
    gt_single = sum(text_shape(ground_truth[sid]) == "single" for sid in texts)
    pred_answers = sum(text_shape(predictions.get(sid)) == "answers" for sid in texts)
    if gt_single > MOSTLY * len(texts) and pred_answers > MOSTLY * len(texts):
        raise SuspectedMistake(
            f"ground truth and predictions look swapped: {pred_answers} of {len(texts)} text samples in the "
            f"predictions hold lists of answers and {gt_single} in the ground truth hold single strings; "
            "exchange --ground-truth and --predictions")


def id_mismatch(ground_truth: dict, predictions: dict, task_ids: dict[str, int], registry: Registry) -> str | None:
    """Why the predictions look like another set's, or None."""
    if not predictions:
        return None
    unknown = [sid for sid in predictions if sid not in ground_truth]
    if len(unknown) > MOSTLY * len(predictions):
        return (f"{len(unknown)} of {len(predictions)} prediction ids are not in the ground truth (e.g. "
                f"{reprlib.repr(unknown[0])}): these look like predictions for another set")
    answered = [(sid, output) for sid, output in _scored(ground_truth, task_ids, registry) if sid in predictions]
    wrong_type = [sid for sid, output in answered if output not in item_types(predictions[sid])]
    if answered and len(wrong_type) > MOSTLY * len(answered):
        return (f"{len(wrong_type)} of {len(answered)} predictions lack an item of their task's output type "
                f"(e.g. sample {reprlib.repr(wrong_type[0])}): the ids match but these look like "
                "predictions for another set")
    return None


def check_ids(ground_truth: dict, predictions: dict, task_ids: dict[str, int], registry: Registry,
              allow: bool) -> list[str]:
    """SuspectedMistake when the predictions look like another set's; with `allow`, the warning to keep."""
    reason = id_mismatch(ground_truth, predictions, task_ids, registry)
    if reason is None:
        return []
    if not allow:
        raise SuspectedMistake(f"{reason}; check the files, or pass --allow-id-mismatch to score anyway")
    return [f"scored anyway (--allow-id-mismatch): {reason}"]
