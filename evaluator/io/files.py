"""Reading the evaluator's input files, whose paths may come from data (team folders, image paths).

A thin layer over the project's safe-file layer that turns its problems into the evaluator's
one-line `InputError`s. Every read here: refuses path strings that cannot name a file (a NUL, a
lone surrogate, empty), refuses a path that resolves outside its root folder (`..`, an absolute
path, a symbolic link leading out), opens only regular files and without blocking (a FIFO or a
device is refused, never waited on), and reads at most `limit` bytes.

The limits below bound what one submission may cost the evaluator (docs/evaluator.md, "Limits").
"""

from __future__ import annotations

import json
import os
import reprlib

from evaluator.errors import InputError
from evaluator.io.display import shown
from solution import safe_files

MiB = 1024 * 1024
MAX_JSON_BYTES = 256 * MiB  # predictions.json, ground truth, input, sample ids
MAX_NAME_BYTES = 4096  # name.txt (only its first line is used)
MAX_EMISSION_BYTES = 16 * MiB  # emission.csv
MAX_IMAGE_BYTES = 32 * MiB  # one image file
MAX_NAME_CHARS = 80  # a team name as shown


def path_text_problem(text) -> str | None:
    """Why `text` cannot be a file path taken from data, or None when it can."""
    return safe_files.path_problem(text)


def _failure(what: str, path, problem: safe_files.FileProblem) -> InputError:
    reason = str(problem)
    if reason == "missing":
        return InputError(f"{what} not found: {shown(path)}")
    if reason == "not a regular file" and isinstance(path, str) and not path_text_problem(path) and os.path.isdir(path):
        return InputError(f"{what} {shown(path)} is a folder, not a file")
    if reason == "not a regular file":
        reason = "not a regular file (a folder, FIFO, socket or device)"
    return InputError(f"{what} {shown(path)}: {reason}")


def read_regular(path: str, limit: int, what: str, root: str | None = None) -> bytes:
    """At most `limit` bytes of the regular file `path` (inside `root` when given, links resolved);
    InputError otherwise. Never blocks: a FIFO or device is refused, not opened for reading."""
    try:
        return safe_files.read_bytes(path, root=root, max_bytes=limit)
    except safe_files.FileProblem as problem:
        raise _failure(what, path, problem) from None


def read_inside(root: str, relative: str, limit: int, what: str) -> bytes:
    """`read_regular` of a path relative to `root` that must stay inside it (links included)."""
    try:
        path = safe_files.resolve_inside(root, relative)
    except safe_files.FileProblem as problem:
        raise _failure(what, os.path.join(root, relative) if isinstance(relative, str) else relative, problem) from None
    return read_regular(str(path), limit, what, root=root)


def resolve_in_folder(folder: str, relative: str) -> tuple[str | None, str | None]:
    """(the path a usable data string names inside `folder`, None) or (None, why it leaves the
    folder: through '..', an absolute path or a link)."""
    try:
        return str(safe_files.resolve_inside(folder, relative)), None
    except safe_files.FileProblem as error:
        return None, str(error)


def read_json_object(path: str, what: str, *, root: str | None = None) -> dict:
    """A JSON object keyed by sample id; InputError with a one-line reason otherwise.

    With `root`, `path` is relative to that folder and must stay inside it (a team's files)."""
    if root is None:
        data = read_regular(path, MAX_JSON_BYTES, f"{what} file")
    else:
        data = read_inside(root, path, MAX_JSON_BYTES, f"{what} file")
        path = os.path.join(root, path)
    return parse_json_object(data, path, what)


def parse_json_object(data: bytes, path: str, what: str) -> dict:
    """The JSON object in `data`; InputError for bad UTF-8, bad syntax, too deep nesting or a number
    too long to convert, or a top level that is not an object."""
    where = shown(path)
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(f"{what} file is not UTF-8 text: {where} ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{what} file is not valid JSON: {where} (line {error.lineno}, column {error.colno}: "
                         f"{error.msg})") from None
    except RecursionError:
        raise InputError(f"{what} file is not usable JSON: {where} (nested too deeply)") from None
    except ValueError as error:  # e.g. an integer over Python's 4300-digit conversion limit
        raise InputError(f"{what} file is not usable JSON: {where} ({str(error)[:120]})") from None
    if not isinstance(parsed, dict):
        raise InputError(f"{what} file must hold a JSON object keyed by sample id, found {type(parsed).__name__}: "
                         f"{where}")
    return parsed


def read_task_ids(path: str) -> dict[str, int]:
    """sample_ids.json: {"<sample id>": <task id>}; task ids may be ints or digit strings."""
    raw = read_json_object(path, "task-ids")
    task_ids: dict[str, int] = {}
    for sample_id, value in raw.items():
        digits = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 9):
            raise InputError(f"task-ids file {path}: sample {reprlib.repr(sample_id)} has task id {reprlib.repr(value)}, "
                             "expected an integer")
        task_ids[str(sample_id)] = int(value)
    return task_ids
