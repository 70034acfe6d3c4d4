"""The one safe-file layer for every path that comes from data (input.json, state files, team folders).

A path string read from data is hostile until checked: it may hold a NUL byte or a lone surrogate,
be longer than the OS allows, point outside the folder it belongs to, name a FIFO that blocks on
open, a device, a directory, or a symlink planted where output goes. Every function here turns
those cases into one :class:`FileProblem` whose message is a short reason (the caller turns it into
a warning or a one-line error); no OSError, UnicodeError or ValueError escapes.

Reading::

    data = read_bytes(root / "images/a.jpg", root=root, max_bytes=50 << 20)   # or FileProblem
    with open_for_reading(path, root=root) as f: ...                           # a regular file only
    path = resolve_inside(root, "images/a.jpg")                                # no absolute, no .., no link out

Writing (output folders)::

    atomic_write_bytes(out / "images/x.jpg", data, root=out)   # temp file + os.replace, links never followed
    atomic_write_json(out / "predictions.json", obj, root=out)   # json.dumps with ensure_ascii=True

``path_problem(text)`` only checks a string (None when it is usable as a path).
"""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
from pathlib import Path

MAX_NAME_BYTES = 255  # NAME_MAX on Linux file systems
MAX_PATH_BYTES = 4096  # PATH_MAX
_IMAGE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP"}


class FileProblem(Exception):
    """A path or file from data cannot be used; ``str(e)`` is a one-line reason."""


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


def _checked(path: str | Path) -> Path:
    problem = path_problem(path)
    if problem:
        raise FileProblem(problem)
    return Path(path)


def _reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _contained(path: Path, root: Path) -> Path:
    """``path`` with every link resolved, if it stays inside ``root`` (also resolved)."""
    try:
        resolved, root_resolved = path.resolve(), root.resolve()
    except (OSError, RuntimeError, ValueError) as e:
        raise FileProblem(f"cannot be resolved ({e.__class__.__name__})") from None
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise FileProblem("leaves its folder")
    return resolved


def resolve_inside(root: str | Path, relative: object) -> Path:
    """``root / relative`` with links resolved; FileProblem if ``relative`` is not a usable path, is
    absolute, holds ``..``, or resolves (through links) outside ``root``."""
    problem = path_problem(relative)
    if problem:
        raise FileProblem(problem)
    rel = Path(str(relative))
    if rel.is_absolute() or ".." in rel.parts:
        raise FileProblem("leaves its folder")
    return _contained(Path(root) / rel, Path(root))


def open_for_reading(path: str | Path, *, root: str | Path | None = None, max_bytes: int | None = None):
    """A binary file object for a regular file; FileProblem when the path is unusable, missing or
    unreadable, is not a regular file (directory, FIFO, device, socket: nothing blocks), is bigger
    than ``max_bytes``, or (with ``root``) lies outside ``root`` after resolving links."""
    path = _checked(path)
    if root is not None:
        path = _contained(path, Path(root))
    try:
        before = os.stat(path)
    except FileNotFoundError:
        raise FileProblem("missing") from None
    except (OSError, ValueError) as e:
        raise FileProblem(f"unreadable ({_reason(e) if isinstance(e, OSError) else 'bad path'})") from None
    if not stat.S_ISREG(before.st_mode):
        raise FileProblem("not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise FileProblem(f"unreadable ({_reason(e)})") from None
    try:
        info = os.fstat(fd)  # the file actually opened, in case it was swapped after the stat
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem("not a regular file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise FileProblem(f"bigger than {max_bytes} bytes")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | Path, *, root: str | Path | None = None, max_bytes: int | None = None) -> bytes:
    """The content of a regular file (see :func:`open_for_reading`); FileProblem otherwise."""
    with open_for_reading(path, root=root, max_bytes=max_bytes) as f:
        try:
            data = f.read() if max_bytes is None else f.read(max_bytes + 1)
        except OSError as e:
            raise FileProblem(f"unreadable ({_reason(e)})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise FileProblem(f"bigger than {max_bytes} bytes")
    return data


def read_text(path: str | Path, *, root: str | Path | None = None, max_bytes: int | None = None) -> str:
    """UTF-8 text (a BOM is dropped) of a regular file; FileProblem when it is not UTF-8."""
    data = read_bytes(path, root=root, max_bytes=max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileProblem(f"not UTF-8 text (byte {e.start})") from None


def make_dirs(folder: str | Path, *, root: str | Path) -> Path:
    """Create ``folder`` (inside ``root``) and its missing parents; FileProblem if any existing
    component below ``root`` is a symlink or not a directory. ``root`` itself is created if missing."""
    folder, root = _checked(folder), _checked(root)
    try:
        relative = folder.relative_to(root)
    except ValueError:
        raise FileProblem(f"{folder} is not inside {root}") from None
    if ".." in relative.parts:
        raise FileProblem(f"{folder} leaves {root}")
    try:
        root.mkdir(parents=True, exist_ok=True)
        current = root
        for part in relative.parts:
            current = current / part
            try:
                info = os.lstat(current)
            except FileNotFoundError:
                os.mkdir(current)
                continue
            if stat.S_ISLNK(info.st_mode):
                raise FileProblem(f"{current} is a symlink: refused")
            if not stat.S_ISDIR(info.st_mode):
                raise FileProblem(f"{current} is not a folder")
    except OSError as e:
        raise FileProblem(f"cannot create {folder} ({_reason(e)})") from None
    return folder


def atomic_write_bytes(path: str | Path, data: bytes, *, root: str | Path | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``: readers see
    the old or the new content, never half; a symlink at ``path`` is replaced, not followed. With
    ``root``, every folder between ``root`` and ``path`` is created if missing and must not be a
    symlink. FileProblem on any failure (nothing half-written is left)."""
    path = _checked(path)
    if root is not None:
        make_dirs(path.parent, root=root)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise FileProblem(f"cannot write {path} ({_reason(e)})") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def json_bytes(obj: object) -> bytes:
    """``obj`` as JSON bytes: ASCII with escapes, so strings with lone surrogates survive the round
    trip (``json.loads`` gives them back unchanged)."""
    return json.dumps(obj, ensure_ascii=True, indent=1).encode("ascii")


def atomic_write_json(path: str | Path, obj: object, *, root: str | Path | None = None) -> None:
    """:func:`atomic_write_bytes` of :func:`json_bytes`."""
    atomic_write_bytes(path, json_bytes(obj), root=root)


def save_image(image, path: str | Path, *, root: str | Path | None = None, **save_options) -> None:
    """A Pillow image written atomically (format from the suffix), links never followed."""
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=_IMAGE_FORMATS.get(Path(path).suffix.lower(), "PNG"), **save_options)
    except (OSError, ValueError, KeyError) as e:
        raise FileProblem(f"cannot encode the image ({type(e).__name__})") from None
    atomic_write_bytes(path, buffer.getvalue(), root=root)

