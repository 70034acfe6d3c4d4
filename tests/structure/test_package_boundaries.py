"""solution/ is the submission: nothing in it imports the training code or the synthetic generator.
fbc2_io/ is shared by the submission and the judge: it imports only the standard library, numpy and
Pillow, and ships with the submission (the ZIP and the Docker image)."""

import pkgutil
import sys
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


def test_the_image_copies_only_run_py_solution_fbc2_io_and_weights():
    copies = [line.split()[1] for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
              if line.startswith("COPY ")]
    assert copies == ["requirements.txt", "scripts/install.sh", "${WEIGHTS}", "run.py", "solution/", "fbc2_io/"]


FBC2_IO_MODULES = ("fbc2_io.errors", "fbc2_io.files", "fbc2_io.text", "fbc2_io.images", "fbc2_io.console",
                   "fbc2_io.settings")


def test_fbc2_io_imports_only_the_standard_library_numpy_and_pillow():
    at_start = imported_packages("")  # what the interpreter loads by itself (.pth hooks included)
    loaded = imported_packages("\n".join(f"import {name}" for name in FBC2_IO_MODULES)) - at_start
    foreign = loaded - set(sys.stdlib_module_names) - {"fbc2_io", "PIL", "numpy"}
    assert "fbc2_io" in loaded and "PIL" in loaded
    assert not foreign, sorted(foreign)


def test_every_module_of_fbc2_io_is_probed():
    import fbc2_io

    names = {m.name for m in pkgutil.walk_packages(fbc2_io.__path__, "fbc2_io.")}
    assert names == set(FBC2_IO_MODULES)


def test_the_submission_zip_ships_what_run_py_imports():
    """run.py and solution/ import fbc2_io: make_submission packs it beside them."""
    from helpers.scripts import load_script

    code = set(load_script("make_submission").CODE)
    assert {"run.py", "solution", "fbc2_io"} <= code
    loaded = imported_packages("import runpy, sys; sys.argv = ['run.py', '--help']\n"
                               "try:\n    runpy.run_path('run.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
                               "import solution.pipeline")
    project = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert loaded & project <= code, sorted(loaded & project - code)


def test_the_training_configs_are_package_data():
    from training.deepspeed_config import DEFAULT_CONFIGS
    from training.sources import VQGAN_CONFIG_DIR

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["training"]
    shipped = {p for pattern in patterns for p in (ROOT / "training").glob(pattern)}
    assert shipped == set((ROOT / "training" / "configs").rglob("*.json"))
    assert set(DEFAULT_CONFIGS.values()) | {VQGAN_CONFIG_DIR / "demo32.json"} <= shipped
