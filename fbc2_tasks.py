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
    folder: str  # training-data folder of the organisers' layout
    file_prefix: str  # training files: <folder>/<file_prefix>_<stage>.json and ..._answer.json


OPEN_TASKS: tuple[OpenTask, ...] = (
    OpenTask(0, "TextQA", "tqa", "text", "textqa", "text_small"),
    OpenTask(1, "MathQA", "mqa", "text", "mathqa", "math"),
    OpenTask(2, "ImageGeneration", "gen", "image", "generation", "generation"),
    OpenTask(3, "ImageCaptioning", "cap", "text", "captioning", "captioning"),
    OpenTask(4, "VisualQA", "vqa", "text", "vqa", "vqa"),
    OpenTask(5, "TRitW", "rec", "text", "text_recognition", "text_recognition"),
)
OPEN_TASK_NAMES: tuple[str, ...] = tuple(task.name for task in OPEN_TASKS)
TASK_BY_NAME: dict[str, OpenTask] = {task.name: task for task in OPEN_TASKS}
