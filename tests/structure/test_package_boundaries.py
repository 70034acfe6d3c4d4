"""solution/ is the submission: nothing in it imports the training code or the synthetic generator."""

import pkgutil
from pathlib import Path

import tomllib
from helpers.imports import imported_packages

import solution

ROOT = Path(__file__).resolve().parents[2]
NOT_IN_THE_SUBMISSION = ("training", "synthetic_fbc2", "deepspeed", "evaluator", "pytest")


def test_the_pipeline_imports_neither_training_nor_the_generator():
    loaded = imported_packages("import solution.pipeline")
    assert "solution" in loaded and "torch" in loaded
    assert not loaded & set(NOT_IN_THE_SUBMISSION), sorted(loaded & set(NOT_IN_THE_SUBMISSION))


def test_no_module_of_solution_imports_them():
    names = [m.name for m in pkgutil.walk_packages(solution.__path__, "solution.")]
    assert "solution.answer_options" in names and "solution.rudolph.model" in names
    loaded = imported_packages("\n".join(f"import {name}" for name in names))
    assert not loaded & set(NOT_IN_THE_SUBMISSION), sorted(loaded & set(NOT_IN_THE_SUBMISSION))


def test_the_probe_sees_an_import_of_the_generator():
    assert "synthetic_fbc2" in imported_packages("import synthetic_fbc2")


def test_the_image_copies_only_run_py_solution_and_weights():
    copies = [line.split()[1] for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
              if line.startswith("COPY ")]
    assert copies == ["requirements.txt", "scripts/install.sh", "${WEIGHTS}", "run.py", "solution/"]


def test_the_training_configs_are_package_data():
    from training.deepspeed_config import DEFAULT_CONFIGS
    from training.sources import VQGAN_CONFIG_DIR

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["training"]
    shipped = {p for pattern in patterns for p in (ROOT / "training").glob(pattern)}
    assert shipped == set((ROOT / "training" / "configs").rglob("*.json"))
    assert set(DEFAULT_CONFIGS.values()) | {VQGAN_CONFIG_DIR / "demo32.json"} <= shipped
