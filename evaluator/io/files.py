"""Reading the evaluator's input files, whose paths may come from data (team folders, image paths).

A thin layer over the shared I/O package `fbc2_io` that turns its `UnusableFile` into the
evaluator's one-line `InputError`. Every read here: refuses path strings that cannot name a file (a
NUL, a lone surrogate, empty), refuses a path that resolves outside its root folder (`..`, an
absolute path, a symbolic link leading out), opens only regular files and without blocking (a FIFO
or a device is refused, never waited on), and reads at most `limit` bytes.

The limits below bound what one submission may cost the evaluator (docs/evaluator.md, "Limits").
"""

from __future__ import annotations

import os
import reprlib

from evaluator.errors import InputError, OutputError
from evaluator.io.display import shown
from fbc2_io.errors import NOT_FOUND, NOT_REGULAR, UnusableFile
from fbc2_io.files import atomic_write_bytes, path_problem, read_bytes, read_json, resolve_inside

MiB = 1024 * 1024
MAX_JSON_BYTES = 256 * MiB  # predictions.json, ground truth, input, sample ids
MAX_NAME_BYTES = 4096  # name.txt (only its first line is used)
MAX_EMISSION_BYTES = 16 * MiB  # emission.csv
MAX_IMAGE_BYTES = 32 * MiB  # one image file
MAX_NAME_CHARS = 80  # a team name as shown


def path_text_problem(text) -> str | None:
    """Why `text` cannot be a file path taken from data, or None when it can."""
    return path_problem(text)


def input_error(what: str, path, problem: UnusableFile) -> InputError:
    """The evaluator's one-line error for a file that cannot be used."""
    if problem.reason == NOT_FOUND:
        return InputError(f"{what} not found: {shown(path)}")
    if problem.reason == NOT_REGULAR and isinstance(path, str) and not path_problem(path) and os.path.isdir(path):
        return InputError(f"{what} {shown(path)} is a folder, not a file")
    return InputError(f"{what} {shown(path)}: {problem.reason}")


def read_regular(path: str, limit: int, what: str, root: str | None = None) -> bytes:
    """At most `limit` bytes of the regular file `path` (inside `root` when given, links resolved);
    InputError otherwise. Never blocks: a FIFO or device is refused, not opened for reading."""
    try:
        return read_bytes(path, root=root, max_bytes=limit, what=what)
    except UnusableFile as problem:
        raise input_error(what, path, problem) from None


def read_inside(root: str, relative: str, limit: int, what: str) -> bytes:
    """`read_regular` of a path relative to `root` that must stay inside it (links included)."""
    try:
        path = resolve_inside(root, relative, what=what)
    except UnusableFile as problem:
        raise input_error(what, os.path.join(root, relative) if isinstance(relative, str) else relative,
                          problem) from None
    return read_regular(str(path), limit, what, root=root)


def resolve_in_folder(folder: str, relative: str) -> tuple[str | None, str | None]:
    """(the path a usable data string names inside `folder`, None) or (None, why it leaves the
    folder: through '..', an absolute path or a link)."""
    try:
        return str(resolve_inside(folder, relative)), None
    except UnusableFile as error:
        return None, error.reason


def read_json_object(path: str, what: str, *, root: str | None = None) -> dict:
    """A JSON object keyed by sample id; InputError with a one-line reason otherwise.

    With `root`, `path` is relative to that folder and must stay inside it (a team's files)."""
    label = f"{what} file"
    if root is not None:
        try:
            path = str(resolve_inside(root, path, what=label))
        except UnusableFile as problem:
            raise input_error(label, os.path.join(root, path), problem) from None
    try:
        parsed = read_json(path, label, root=root, max_bytes=MAX_JSON_BYTES)
    except UnusableFile as problem:
        raise input_error(label, path, problem) from None
    if not isinstance(parsed, dict):
        raise InputError(f"{what} file must hold a JSON object keyed by sample id, found {type(parsed).__name__}: "
                         f"{shown(path)}")
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


def write_output(path: str, text: str) -> None:
    """Write a report (UTF-8; a lone surrogate escaped) through a temporary file, fsynced and renamed,
    so a failed write leaves no half-written output; OutputError with one line otherwise."""
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path}: it is a folder, not a file")
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        atomic_write_bytes(path, text.encode("utf-8", errors="backslashreplace"))
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    except UnusableFile as error:
        raise OutputError(f"cannot write {path}: {error.reason}") from None
