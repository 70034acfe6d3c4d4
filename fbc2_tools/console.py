"""Console entry points (``pyproject.toml``, ``[project.scripts]``): ``fbc2-run``, ``fbc2-eval``, ...

Each one imports its command only when called, so a missing dependency is one line naming the
install command instead of a traceback. ``run.py`` and ``scripts/*.py`` are files of the checkout, not
modules of the package: their commands need the editable install (``pip install -e .``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from .deps import missing_dependency_message
from .quiet import silence_library_warnings, verbose_requested

CHECKOUT = Path(__file__).resolve().parents[1]


def _script_main(relative: str) -> Callable[[list[str] | None], int | None]:
    path = CHECKOUT / relative
    if not path.is_file():
        raise FileNotFoundError(f"{relative} is not next to the installed package ({CHECKOUT}): this command needs "
                                "the checkout installed with pip install -e .")
    spec = importlib.util.spec_from_file_location(f"fbc2_script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    sys.path.insert(0, str(CHECKOUT))
    spec.loader.exec_module(module)
    return module.main


def _module_main(name: str) -> Callable[[list[str] | None], int | None]:
    return importlib.import_module(name).main


# command -> (how to find its main, where it lives)
COMMANDS: dict[str, tuple[Callable[[str], Callable], str]] = {
    "fbc2-run": (_script_main, "run.py"),
    "fbc2-eval": (_module_main, "evaluator.cli"),
    "fbc2-train": (_module_main, "training.cli"),
    "fbc2-fetch-weights": (_module_main, "fbc2_tools.fetch_weights"),
    "fbc2-make-submission": (_script_main, "scripts/make_submission.py"),
    "fbc2-check-submission": (_script_main, "scripts/check_submission.py"),
}


def launch(command: str, argv: list[str] | None = None) -> int:
    finder, where = COMMANDS[command]
    silence_library_warnings(verbose_requested(argv))
    try:
        main = finder(where)
    except ModuleNotFoundError as error:
        print(missing_dependency_message(command, error), file=sys.stderr)
        return 1
    except FileNotFoundError as error:
        print(f"{command}: error: {error}", file=sys.stderr)
        return 1
    sys.argv[0] = command
    code = main(argv)
    return int(code or 0)


def _entry(command: str) -> Callable[[], None]:
    def entry() -> None:
        sys.exit(launch(command))

    entry.__name__ = command.replace("-", "_")
    return entry


run = _entry("fbc2-run")
evaluate = _entry("fbc2-eval")
train = _entry("fbc2-train")
fetch_weights = _entry("fbc2-fetch-weights")
make_submission = _entry("fbc2-make-submission")
check_submission = _entry("fbc2-check-submission")
