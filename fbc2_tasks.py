"""The six open FBC2 tasks: the one table of their fixed facts (pure data, no imports).

Everything else derives its task list from here: the synthetic generator (``synthetic_fbc2.tasks``
adds a drawing function and instruction layouts per task), training (``training.tasks`` adds special
tokens and loss weights, keyed by the same names), the scripts, and the evaluator's registry
``evaluator/tasks.json``, which stays a data file the organiser can copy and edit: a test checks that
its open tasks are these (id, name, output type).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenTask:
    id: int  # the value in sample_ids.json
    name: str  # the FBC2 task name (sample_ids.json, the leaderboard, the registries)
    short: str  # a three-letter tag for progress lines
    output: str  # what a prediction is: "text" or "image"
    image_input: bool  # whether the task's input holds an image
    folder: str  # training-data folder of the organisers' layout
    file_prefix: str  # training files: <folder>/<file_prefix>_<stage>.json and ..._answer.json


OPEN_TASKS: tuple[OpenTask, ...] = (
    OpenTask(0, "TextQA", "tqa", "text", False, "textqa", "text_small"),
    OpenTask(1, "MathQA", "mqa", "text", False, "mathqa", "math"),
    OpenTask(2, "ImageGeneration", "gen", "image", False, "generation", "generation"),
    OpenTask(3, "ImageCaptioning", "cap", "text", True, "captioning", "captioning"),
    OpenTask(4, "VisualQA", "vqa", "text", True, "vqa", "vqa"),
    OpenTask(5, "TRitW", "rec", "text", True, "text_recognition", "text_recognition"),
)
OPEN_TASK_NAMES: tuple[str, ...] = tuple(task.name for task in OPEN_TASKS)
# Tasks with an image in their input or output (VQGAN training data), and the text-only ones.
IMAGE_TASK_NAMES: tuple[str, ...] = tuple(t.name for t in OPEN_TASKS if t.image_input or t.output == "image")
TEXT_TASK_NAMES: tuple[str, ...] = tuple(t.name for t in OPEN_TASKS if t.name not in IMAGE_TASK_NAMES)
TASK_BY_NAME: dict[str, OpenTask] = {task.name: task for task in OPEN_TASKS}
