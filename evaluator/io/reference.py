"""The reference every submission is scored against: ground truth, sample ids and the optional
input, read and checked once, into one typed record per sample of each task of the registry."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from evaluator.errors import SuspectedMistake
from evaluator.io.files import read_json_object, read_task_ids
from evaluator.io.images import open_rgb
from evaluator.io.items import first_item, generation_caption, gold_answers, image_file, items_of_type
from evaluator.io.sanity import check_ground_truth
from evaluator.provenance import sha256_of
from evaluator.tasks import Registry, Task, load_registry


@dataclass(frozen=True)
class ReferenceSample:
    """One sample of the reference, as the metrics read it. A `*_issue` is the warning a metric
    records when it needs the part that is unusable."""

    sample_id: str
    golds: list[str] | None = None  # text tasks: the acceptable answers (None: none usable)
    gold_image: str | None = None  # image tasks: the ground-truth image file
    gold_image_issue: str | None = None
    input_image: str | None = None  # text tasks with an input: the input's first image file
    input_image_issue: str | None = None
    caption: str | None = None  # the caption of an ImageGeneration input


@dataclass
class Reference:
    ground_truth: dict
    task_ids: dict[str, int]
    inputs: dict | None
    ground_truth_dir: str
    input_dir: str | None
    registry: Registry
    samples: dict[str, list[ReferenceSample]]  # task name -> its samples, registry order
    warnings: list[str]  # about the reference itself, repeated in every report
    image_cache: dict = field(default_factory=dict, repr=False)  # path -> (RGB image or None, error)

    def task_samples(self, task: Task) -> list[ReferenceSample]:
        return self.samples[task.name]

    def image(self, path: str):
        """(the RGB image at a reference path, None) or (None, why it cannot be read); read once."""
        if path not in self.image_cache:
            try:
                self.image_cache[path] = (open_rgb(path), None)
            except Exception as error:  # Pillow raises many kinds for broken files
                self.image_cache[path] = (None, error)
        return self.image_cache[path]


def _gold_image(task: str, sample_id: str, value, folder: str) -> tuple[str | None, str | None]:
    content, kind, _ = first_item(value, "image")
    if kind is not None:
        return None, f"{task} sample {sample_id}: ground truth has no image item"
    path, kind, detail = image_file(folder, content)
    return (path, None) if kind is None else (None, f"{task} sample {sample_id}: ground-truth image unusable ({detail})")


def _input_image(task: str, sample_id: str, inputs: dict | None, folder: str | None) -> tuple[str | None, str | None]:
    if inputs is None or sample_id not in inputs:
        return None, None
    images = items_of_type(inputs[sample_id], "image")
    if not images:
        return None, f"{task} sample {sample_id}: input has no image item"
    path, kind, detail = image_file(folder, images[0])
    return (path, None) if kind is None else (None, f"{task} sample {sample_id}: input image unusable ({detail})")


def reference_sample(task: Task, sample_id: str, ground_truth: dict, inputs: dict | None, ground_truth_dir: str,
                     input_dir: str | None) -> ReferenceSample:
    caption = generation_caption(inputs.get(sample_id)) if inputs is not None and sample_id in inputs else None
    if task.output == "text":
        input_image, input_issue = _input_image(task.name, sample_id, inputs, input_dir)
        return ReferenceSample(sample_id, golds=gold_answers(ground_truth.get(sample_id)) or None,
                               input_image=input_image, input_image_issue=input_issue, caption=caption)
    if task.output == "image":
        gold_image, gold_issue = _gold_image(task.name, sample_id, ground_truth.get(sample_id), ground_truth_dir)
        return ReferenceSample(sample_id, gold_image=gold_image, gold_image_issue=gold_issue, caption=caption)
    return ReferenceSample(sample_id, caption=caption)


def sample_ids_by_task(ground_truth: dict, task_ids: dict[str, int], registry: Registry) -> tuple[dict, list[str]]:
    """({task name: its sample ids in the task-ids file's order}, warnings about ids that are not scored)."""
    known = registry.by_id()
    by_task: dict[str, list[str]] = {task.name: [] for task in registry.tasks}
    warnings = []
    for sample_id, task_id in task_ids.items():
        if sample_id not in ground_truth:
            warnings.append(f"sample {sample_id} is in the task-ids file but not in the ground truth; ignored")
        elif task_id not in known:
            warnings.append(f"sample {sample_id} has task id {task_id}, which the registry does not know; ignored")
        else:
            by_task[known[task_id].name].append(sample_id)
    without_task = [sid for sid in ground_truth if sid not in task_ids]
    if without_task:
        warnings.append(f"{len(without_task)} ground-truth samples have no task id and are not scored "
                        f"(e.g. {without_task[0]})")
    return by_task, warnings


def build_reference(ground_truth: dict, task_ids: dict[str, int], inputs: dict | None, ground_truth_dir: str,
                    input_dir: str | None, registry: Registry) -> Reference:
    """The reference from loaded objects (its ground truth checked by the caller)."""
    by_task, warnings = sample_ids_by_task(ground_truth, task_ids, registry)
    samples = {task.name: [reference_sample(task, sid, ground_truth, inputs, ground_truth_dir, input_dir)
                           for sid in by_task[task.name]] for task in registry.tasks}
    return Reference(ground_truth, task_ids, inputs, ground_truth_dir, input_dir, registry, samples, warnings)


def same_file(a: str, b: str) -> bool:
    """Whether two paths name the same file or files with the same bytes."""
    try:
        if os.path.samefile(a, b):
            return True
    except (OSError, ValueError):
        return False
    digest = sha256_of(a)
    return digest is not None and digest == sha256_of(b)


def load_reference(ground_truth_path: str, task_ids_path: str, input_path: str | None = None,
                   registry: Registry | None = None) -> Reference:
    """Read the ground truth, sample ids and optional input (InputError on unreadable ones) and
    refuse an input file given as the ground truth."""
    registry = registry or load_registry()
    if input_path and same_file(ground_truth_path, input_path):
        raise SuspectedMistake(f"--ground-truth and --input are the same file ({ground_truth_path}); "
                               "the ground truth is the answers file (ground_truth.json / output.json)")
    ground_truth = read_json_object(ground_truth_path, "ground-truth")
    task_ids = read_task_ids(task_ids_path)
    check_ground_truth(ground_truth, task_ids, registry, ground_truth_path)
    inputs = read_json_object(input_path, "input") if input_path else None
    return build_reference(ground_truth, task_ids, inputs, os.path.dirname(os.path.abspath(ground_truth_path)),
                           os.path.dirname(os.path.abspath(input_path)) if input_path else None, registry)
