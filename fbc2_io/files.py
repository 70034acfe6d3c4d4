"""Paths and files from data: checked, read without blocking, written atomically.

A path string read from data is hostile until checked: it may hold a NUL byte or a lone surrogate,
be longer than the OS allows, point outside the folder it belongs to, name a FIFO that blocks on
open, a device, a directory, or a symlink planted where output goes. Every function here turns
those cases into one :class:`~fbc2_io.errors.UnusableFile` ("<what> <path>: <reason>"); no
OSError, UnicodeError or ValueError escapes.

Reading::

    data = read_bytes(root / "images/a.jpg", root=root, max_bytes=50 << 20)
    with open_for_reading(path, root=root) as f: ...        # a regular file only, never blocks
    path = resolve_inside(root, "images/a.jpg")              # no absolute, no .., no link out
    obj = read_json(path, "input file")                      # any problem: one line

Writing (output folders)::

    atomic_write_bytes(out / "images/x.jpg", data, root=out)   # temp file + fsync + rename
    atomic_write_json(out / "predictions.json", obj, root=out)

Files are created with mode 0666 & ~umask and folders with 0777 & ~umask (the kernel applies the
umask), as ``open`` and ``mkdir`` would; a symlink at the target is replaced, never followed.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path

from .errors import LEAVES_FOLDER, NOT_FOUND, NOT_REGULAR, UnusableFile

MAX_NAME_BYTES = 255  # NAME_MAX on Linux file systems
MAX_PATH_BYTES = 4096  # PATH_MAX
MAX_JSON_BYTES = 256 << 20  # read_json's default limit
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def path_problem(text: object) -> str | None:
    """Why ``text`` cannot be a path (None when it can): not a string, empty, a NUL byte, a lone
    surrogate, a component over 255 bytes or a whole path over 4096 bytes in UTF-8."""
    if isinstance(text, Path):
        text = str(text)
    if not isinstance(text, str):
        return f"not a path string ({type(text).__name__})"
    if not text:
        return "empty path"
    if "\0" in text:
        return "path holds a NUL byte"
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        return "path holds a lone surrogate"
    if len(encoded) > MAX_PATH_BYTES:
        return f"path longer than {MAX_PATH_BYTES} bytes"
    if any(len(part) > MAX_NAME_BYTES for part in encoded.split(b"/")):
        return f"a name in the path is longer than {MAX_NAME_BYTES} bytes"
    return None


def _checked(path: object, what: str) -> Path:
    problem = path_problem(path)
    if problem:
        raise UnusableFile(what, path, problem)
    return Path(path)


def _os_failure(what: str, path: object, action: str, e: OSError) -> UnusableFile:
    return UnusableFile(what, path, f"{action} ({e.strerror or type(e).__name__})", errno=e.errno)


def _contained(path: Path, root: Path, what: str, shown: object = None) -> Path:
    """``path`` with every link resolved, if it stays inside ``root`` (also resolved)."""
    try:
        resolved, root_resolved = path.resolve(), root.resolve()
    except (OSError, RuntimeError, ValueError) as e:
        raise UnusableFile(what, shown or path, f"cannot be resolved ({type(e).__name__})") from None
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise UnusableFile(what, shown or path, LEAVES_FOLDER)
    return resolved


def resolve_inside(root: str | Path, relative: object, *, what: str = "path") -> Path:
    """``root / relative`` with links resolved; UnusableFile if ``relative`` is not a usable path, is
    absolute, holds ``..``, or resolves (through links) outside ``root``."""
    problem = path_problem(relative)
    if problem:
        raise UnusableFile(what, relative, problem)
    rel = Path(str(relative))
    if rel.is_absolute() or ".." in rel.parts:
        raise UnusableFile(what, relative, LEAVES_FOLDER)
    return _contained(Path(root) / rel, Path(root), what, shown=relative)


def open_for_reading(path: str | Path, *, root: str | Path | None = None, max_bytes: int | None = None,
                     what: str = "file"):
    """A binary file object for a regular file; UnusableFile when the path is unusable, missing or
    unreadable, is not a regular file (directory, FIFO, device, socket: nothing blocks), is bigger
    than ``max_bytes``, or (with ``root``) lies outside ``root`` after resolving links."""
    shown = path
    path = _checked(path, what)
    if root is not None:
        path = _contained(path, Path(root), what, shown)
    try:
        before = os.stat(path)
    except FileNotFoundError:
        raise UnusableFile(what, shown, NOT_FOUND) from None
    except OSError as e:
        raise _os_failure(what, shown, "unreadable", e) from None
    if not stat.S_ISREG(before.st_mode):
        raise UnusableFile(what, shown, NOT_REGULAR)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise _os_failure(what, shown, "unreadable", e) from None
    try:
        info = os.fstat(fd)  # the file actually opened, in case it was swapped after the stat
        if not stat.S_ISREG(info.st_mode):
            raise UnusableFile(what, shown, NOT_REGULAR)
        if max_bytes is not None and info.st_size > max_bytes:
            raise UnusableFile(what, shown, f"bigger than {max_bytes} bytes")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | Path, *, root: str | Path | None = None, max_bytes: int | None = None,
               what: str = "file") -> bytes:
    """The content of a regular file (see :func:`open_for_reading`); UnusableFile otherwise."""
    with open_for_reading(path, root=root, max_bytes=max_bytes, what=what) as f:
        try:
            data = f.read() if max_bytes is None else f.read(max_bytes + 1)
        except OSError as e:
            raise _os_failure(what, path, "unreadable", e) from None
    if max_bytes is not None and len(data) > max_bytes:
        raise UnusableFile(what, path, f"bigger than {max_bytes} bytes")
    return data


def read_text(path: str | Path, *, root: str | Path | None = None, max_bytes: int | None = None,
              what: str = "file") -> str:
    """UTF-8 text (a BOM is dropped) of a regular file; UnusableFile when it is not UTF-8."""
    data = read_bytes(path, root=root, max_bytes=max_bytes, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnusableFile(what, path, f"not UTF-8 text (byte {e.start})") from None


def read_json(path: str | Path, what: str, *, root: str | Path | None = None,
              max_bytes: int | None = MAX_JSON_BYTES) -> object:
    """The JSON value in a regular UTF-8 file; UnusableFile with a one-line message for a missing,
    unreadable, oversized or non-UTF-8 file, invalid JSON, JSON nested too deeply, or an integer
    literal too long to convert."""
    text = read_text(path, root=root, max_bytes=max_bytes, what=what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UnusableFile(what, path, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise UnusableFile(what, path, "not usable JSON (nested too deeply)") from None
    except ValueError as e:  # integer literals beyond sys.get_int_max_str_digits()
        raise UnusableFile(what, path, f"not usable JSON ({str(e).splitlines()[0][:120]})") from None


def make_dirs(folder: str | Path, *, root: str | Path) -> Path:
    """Create ``folder`` (inside ``root``) and its missing parents with mode 0777 & ~umask;
    UnusableFile if any existing component below ``root`` is a symlink or not a directory. ``root``
    itself is created if missing."""
    what = "folder"
    folder, root = _checked(folder, what), _checked(root, what)
    try:
        relative = folder.relative_to(root)
    except ValueError:
        raise UnusableFile(what, folder, f"not inside {root}") from None
    if ".." in relative.parts:
        raise UnusableFile(what, folder, LEAVES_FOLDER)
    try:
        root.mkdir(parents=True, exist_ok=True)
        current = root
        for part in relative.parts:
            current = current / part
            try:
                info = os.lstat(current)
            except FileNotFoundError:
                os.mkdir(current, 0o777)
                continue
            if stat.S_ISLNK(info.st_mode):
                raise UnusableFile(what, current, "a symlink: refused")
            if not stat.S_ISDIR(info.st_mode):
                raise UnusableFile(what, current, "not a folder")
    except OSError as e:
        raise _os_failure(what, folder, "cannot be created", e) from None
    return folder


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename itself has happened
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes, *, root: str | Path | None = None) -> None:
    """Write ``data`` to a new temporary file beside ``path`` (mode 0666 & ~umask, never through a
    link), fsync it and rename it over ``path``: readers see the old or the new content, never half;
    a symlink at ``path`` is replaced, not followed. With ``root``, every folder between ``root`` and
    ``path`` is created if missing and must not be a symlink. UnusableFile on any failure (its
    ``errno`` is the OSError's, e.g. ENOSPC); nothing half-written is left."""
    what = "output file"
    path = _checked(path, what)
    if root is not None:
        make_dirs(path.parent, root=root)
    tmp = None
    try:
        for _ in range(100):
            candidate = path.parent / f".{path.name[:100]}.{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(candidate, _CREATE_FLAGS, 0o666)
            except FileExistsError:
                continue
            tmp = candidate
            break
        else:
            raise UnusableFile(what, path, "no free temporary name beside it")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise _os_failure(what, path, "cannot be written", e) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    _fsync_folder(path.parent)


def atomic_write_text(path: str | Path, text: str, *, root: str | Path | None = None) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8; a lone surrogate is an UnusableFile."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise UnusableFile("output file", path, f"text holds a lone surrogate at character {e.start}") from None
    atomic_write_bytes(path, data, root=root)


def json_bytes(obj: object) -> bytes:
    """``obj`` as JSON bytes: ASCII with escapes, so strings with lone surrogates survive the round
    trip (``json.loads`` gives them back unchanged)."""
    return json.dumps(obj, ensure_ascii=True, indent=1).encode("ascii")


def atomic_write_json(path: str | Path, obj: object, *, root: str | Path | None = None) -> None:
    """:func:`atomic_write_bytes` of :func:`json_bytes`."""
    atomic_write_bytes(path, json_bytes(obj), root=root)
