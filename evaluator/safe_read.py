"""Reading files whose paths come from data (team folders, image paths in predictions.json).

A thin layer over the project's one safe-file layer, `fbc2_io.files`, that turns its
`UnusableFile`s into the evaluator's one-line `InputError`s. Every read here: refuses path strings that cannot name a file (a NUL, a lone surrogate, empty),
refuses a path that resolves outside its root folder (`..`, an absolute path, a symbolic link
leading out), opens only regular files and without blocking (a FIFO or a device is refused, never
waited on), and reads at most `limit` bytes. Failures raise `InputError` with one sentence.

The limits below bound what one submission may cost the evaluator (documented in
docs/evaluator.md, "Limits").
"""

from __future__ import annotations

import os
import unicodedata

from evaluator.fbc2_files import InputError
from fbc2_io import files as safe_files
from fbc2_io.errors import NOT_FOUND, NOT_REGULAR, UnusableFile

MiB = 1024 * 1024
MAX_JSON_BYTES = 256 * MiB  # predictions.json, ground truth, input, sample ids
MAX_NAME_BYTES = 4096  # name.txt (only its first line is used)
MAX_EMISSION_BYTES = 16 * MiB  # emission.csv
MAX_IMAGE_BYTES = 32 * MiB  # one image file
MAX_NAME_CHARS = 80  # a team name as shown


def path_text_problem(text) -> str | None:
    """Why `text` cannot be a file path taken from data, or None when it can."""
    return safe_files.path_problem(text)


def _failure(what: str, path, problem: UnusableFile) -> InputError:
    reason = problem.reason
    if reason == NOT_FOUND:
        return InputError(f"{what} not found: {shown(path)}")
    if reason == NOT_REGULAR and isinstance(path, str) and not path_text_problem(path) and os.path.isdir(path):
        return InputError(f"{what} {shown(path)} is a folder, not a file")
    return InputError(f"{what} {shown(path)}: {reason}")


def read_regular(path: str, limit: int, what: str, root: str | None = None) -> bytes:
    """At most `limit` bytes of the regular file `path` (inside `root` when given, links resolved);
    InputError otherwise. Never blocks: a FIFO or device is refused, not opened for reading."""
    try:
        return safe_files.read_bytes(path, root=root, max_bytes=limit)
    except UnusableFile as problem:
        raise _failure(what, path, problem) from None


def read_inside(root: str, relative: str, limit: int, what: str) -> bytes:
    """`read_regular` of a path relative to `root` that must stay inside it (links included)."""
    try:
        path = safe_files.resolve_inside(root, relative)
    except UnusableFile as problem:
        raise _failure(what, os.path.join(root, relative) if isinstance(relative, str) else relative, problem) from None
    return read_regular(str(path), limit, what, root=root)


def clean_text(text: str, max_chars: int | None = None) -> str:
    """`text` without control or format characters (terminal escapes, bidi overrides, NUL, lone
    surrogates, line breaks), cut to `max_chars`."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    if max_chars is not None and len(kept) > max_chars:
        kept = kept[:max_chars - 1] + "…"
    return kept


def shown(value) -> str:
    """A path or value as it may be printed: control characters and surrogates escaped, cut to 200."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(repr(ch)[1:-1] if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 200 else text[:199] + "…"
