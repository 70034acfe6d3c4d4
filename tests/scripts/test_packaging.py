"""The package's metadata (built from pyproject.toml as pip would) and its console commands."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fbc2_tools import console
from fbc2_tools.deps import missing_dependency_message

ROOT = Path(__file__).resolve().parents[2]


def python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


@pytest.fixture(scope="module")
def metadata(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("meta")
    proc = python(f"from setuptools import build_meta; print(build_meta.prepare_metadata_for_build_wheel({str(out)!r}))")
    assert proc.returncode == 0, proc.stderr
    dist_info = out / proc.stdout.split()[-1]
    return {name: (dist_info / name).read_text() for name in ("METADATA", "entry_points.txt")}


def test_torch_and_eco2ai_are_dependencies_and_the_extras_exist(metadata):
    requires = [line.split(": ", 1)[1] for line in metadata["METADATA"].splitlines() if line.startswith("Requires-Dist")]
    assert "torch<3,>=2.1" in requires  # a range: an installed CPU or CUDA build that fits is kept
    assert "eco2ai==0.3.12" in requires
    assert 'huggingface_hub>=0.23; extra == "dev"' in requires
    assert 'deepspeed==0.19.8; extra == "train"' in requires
    assert {"Provides-Extra: dev", "Provides-Extra: train"} <= set(metadata["METADATA"].splitlines())


def test_every_console_command_is_in_the_metadata_and_the_launcher(metadata):
    lines = metadata["entry_points.txt"].splitlines()
    assert lines[0] == "[console_scripts]"
    scripts = dict(line.split(" = ") for line in lines[1:] if line)
    assert set(scripts) == set(console.COMMANDS) == {"fbc2-run", "fbc2-eval", "fbc2-train", "fbc2-fetch-weights",
                                                     "fbc2-make-submission", "fbc2-check-submission"}
    for target in scripts.values():
        module, attr = target.split(":")
        assert callable(getattr(console, attr)) and module == "fbc2_tools.console"


@pytest.mark.parametrize("command", sorted(console.COMMANDS))
def test_help_of_each_command_works_and_is_quiet(command):
    proc = python(f"import sys; from fbc2_tools.console import launch; sys.exit(launch({command!r}, ['--help']))")
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout
    assert proc.stderr == ""  # no library warning (torch's pynvml FutureWarning) on --help


def test_a_missing_package_is_one_line_naming_the_install_command():
    proc = python("import sys; sys.modules['torch'] = None\n"
                  "from fbc2_tools.console import launch; sys.exit(launch('fbc2-train', ['--help']))")
    assert proc.returncode == 1
    assert proc.stderr == (f"fbc2-train: error: the Python package 'torch' is missing for {sys.executable}: run bash "
                           "scripts/install.sh (then use .venv/bin/python), or install torch (see docs/dependencies.md: "
                           "the CPU or the CUDA build)\n")


def test_the_message_names_the_pip_package_where_it_differs():
    error = ModuleNotFoundError("No module named 'PIL.Image'", name="PIL.Image")
    assert missing_dependency_message("run.py", error).endswith("or install pillow")
