"""fbc2_tasks.OPEN_TASKS is the one task table: the evaluator's registry, the generator, training and
the scripts agree with it."""

import json
from pathlib import Path

from helpers.imports import imported_packages
from helpers.scripts import load_script

import fbc2_tasks
from evaluator.tasks import load_registry
from fbc2_tasks import OPEN_TASK_NAMES, OPEN_TASKS

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_is_the_six_open_tasks_with_ids_0_to_5():
    assert [(t.id, t.name) for t in OPEN_TASKS] == [
        (0, "TextQA"), (1, "MathQA"), (2, "ImageGeneration"), (3, "ImageCaptioning"), (4, "VisualQA"), (5, "TRitW")]
    assert len({t.short for t in OPEN_TASKS}) == len({t.folder for t in OPEN_TASKS}) == 6


def test_the_evaluator_registry_json_has_the_open_tasks_of_the_table():
    registry = json.loads((ROOT / "evaluator" / "tasks.json").read_text(encoding="utf-8"))
    open_tasks = [(t["id"], t["name"], t["output"]) for t in registry["tasks"] if t["kind"] == "open"]
    assert open_tasks == [(t.id, t.name, t.output) for t in OPEN_TASKS]


def test_the_loaded_registry_agrees_too():
    tasks = [t for t in load_registry().tasks if t.kind == "open"]
    assert [(t.id, t.name, t.output) for t in tasks] == [(t.id, t.name, t.output) for t in OPEN_TASKS]


def test_the_generator_makes_the_tasks_of_the_table():
    from synthetic_fbc2 import TASK_BY_ID, TASKS, generate_samples

    assert list(TASKS) == list(OPEN_TASK_NAMES)
    for task in OPEN_TASKS:
        spec = TASKS[task.name]
        assert (spec.task_id, spec.folder, spec.file_prefix) == (task.id, task.folder, task.file_prefix)
        assert TASK_BY_ID[task.id] is spec
    sample = generate_samples("MathQA", 1, seed=3)[0]
    assert (sample.task, sample.task_id) == ("MathQA", 1)


def test_training_has_one_entry_per_task_of_the_table():
    from training.tasks import TASK_TRAINING
    from training.trainer import TASK_SHORT

    assert list(TASK_TRAINING) == list(OPEN_TASK_NAMES)
    assert TASK_SHORT == {"TextQA": "tqa", "MathQA": "mqa", "ImageGeneration": "gen", "ImageCaptioning": "cap",
                          "VisualQA": "vqa", "TRitW": "rec"}


def test_the_scripts_take_their_task_lists_from_the_table():
    assert fbc2_tasks.IMAGE_TASK_NAMES == ("ImageGeneration", "ImageCaptioning", "VisualQA", "TRitW")
    assert fbc2_tasks.TEXT_TASK_NAMES == ("TextQA", "MathQA")
    assert load_script("evaluate_quality").OPEN_TASKS == OPEN_TASK_NAMES
    assert load_script("train_vqgan").IMAGE_TASKS == list(fbc2_tasks.IMAGE_TASK_NAMES)


def test_the_table_is_pure_data():
    loaded = imported_packages("import fbc2_tasks")
    assert "fbc2_tasks" in loaded and not loaded & {"torch", "PIL", "numpy", "solution", "evaluator"}
