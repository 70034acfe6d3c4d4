"""Reading files whose paths come from data (team folders, image paths in predictions.json).

Every read here: refuses path strings that cannot name a file (a NUL, a lone surrogate, empty),
refuses a path that resolves outside its root folder (`..`, an absolute path, a symbolic link
leading out), opens only regular files and without blocking (a FIFO or a device is refused, never
waited on), and reads at most `limit` bytes. Failures raise `InputError` with one sentence.

The limits below bound what one submission may cost the evaluator (documented in
docs/evaluator.md, "Limits").
"""

from __future__ import annotations

import os
import stat
import unicodedata

from evaluator.fbc2_files import InputError

MiB = 1024 * 1024
MAX_JSON_BYTES = 256 * MiB  # predictions.json, ground truth, input, sample ids
MAX_NAME_BYTES = 4096  # name.txt (only its first line is used)
MAX_EMISSION_BYTES = 16 * MiB  # emission.csv
MAX_IMAGE_BYTES = 32 * MiB  # one image file
MAX_NAME_CHARS = 80  # a team name as shown


def path_text_problem(text) -> str | None:
    """Why `text` cannot be a file path taken from data, or None when it can."""
    if not isinstance(text, str):
        return f"path is {type(text).__name__}, not a string"
    if not text:
        return "path is empty"
    if "\x00" in text:
        return "path contains a NUL character"
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return "path contains a lone surrogate (not valid Unicode)"
    return None


def inside(root: str, relative: str) -> str:
    """The real path of `relative` under `root`; InputError if it is unusable or leaves `root`."""
    problem = path_text_problem(relative)
    if problem is not None:
        raise InputError(f"{problem}: {shown(relative)}")
    if os.path.isabs(relative):
        raise InputError(f"absolute path {shown(relative)} (must be relative to {shown(root)})")
    real_root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(real_root, relative))
    if os.path.commonpath([real_root, path]) != real_root:
        raise InputError(f"{shown(relative)} leads outside {shown(root)} (through '..' or a link)")
    return path


def read_regular(path: str, limit: int, what: str) -> bytes:
    """At most `limit` bytes of the regular file `path`; InputError otherwise (never blocks)."""
    problem = path_text_problem(path)
    if problem is not None:
        raise InputError(f"{what}: {problem}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{what} not found: {shown(path)}") from None
    except OSError as error:
        raise InputError(f"cannot open {what} {shown(path)}: {error.strerror or error}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{what} {shown(path)} is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{what} {shown(path)} is not a regular file (a FIFO, socket or device)")
        if info.st_size > limit:
            raise InputError(f"{what} {shown(path)} is {info.st_size} bytes, over the {limit}-byte limit")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise InputError(f"cannot read {what} {shown(path)}: {error.strerror or error}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputError(f"{what} {shown(path)} is over the {limit}-byte limit")
    return data


def read_inside(root: str, relative: str, limit: int, what: str) -> bytes:
    """`read_regular` of a path that must stay inside `root` (links included)."""
    return read_regular(inside(root, relative), limit, what)


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
