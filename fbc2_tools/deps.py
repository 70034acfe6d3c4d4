"""One line, naming the install command, for a Python package that is missing.

``python3 run.py`` outside ``.venv``, or a console command of a partial install, would otherwise end
in a ModuleNotFoundError traceback. ``missing_dependency_message`` turns the error into one line.
"""

from __future__ import annotations

import sys

INSTALL = "bash scripts/install.sh (then use .venv/bin/python)"

# import name -> what to install, where that differs from the import name or needs a special step
PACKAGES = {
    "PIL": "pillow",
    "yaml": "pyyaml",
    "eco2ai": "eco2ai==0.3.12",
    "deepspeed": "deepspeed==0.19.8 (pip install --no-build-isolation: its setup imports torch)",
    "youtokentome": 'youtokentome==1.0.6 (pip install "Cython<3", then pip install --no-build-isolation)',
    "pymorphy3_dicts_ru": "pymorphy3-dicts-ru",
    "huggingface_hub": "huggingface_hub",
    "torch": "torch (see docs/dependencies.md: the CPU or the CUDA build)",
}


def missing_dependency_message(prog: str, error: ModuleNotFoundError) -> str:
    name = (error.name or "").split(".")[0] or "?"
    package = PACKAGES.get(name, name)
    return (f"{prog}: error: the Python package {name!r} is missing for {sys.executable}: run {INSTALL}, "
            f"or install {package}")
