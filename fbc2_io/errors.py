"""The one exception for a file (or a path string) from data that cannot be used."""

from __future__ import annotations

from .text import printable

# Reasons callers may compare with ``UnusableFile.reason``.
NOT_FOUND = "not found"
NOT_REGULAR = "not a regular file (a folder, FIFO, socket or device)"
LEAVES_FOLDER = "leaves its folder"


class UnusableFile(Exception):
    """A file or path from data cannot be used. ``str(e)`` is one line, ``"<what> <path>: <reason>"``
    (the path printable: control characters and lone surrogates escaped, cut to 200 characters);
    ``e.what``, ``e.path`` and ``e.reason`` keep the parts; ``e.errno`` is the OSError's number when
    one caused it (e.g. ``errno.ENOSPC`` for a full disk), else None."""

    def __init__(self, what: str, path: object, reason: str, errno: int | None = None):
        self.what, self.path, self.reason, self.errno = what, path, reason, errno
        super().__init__(f"{what} {printable(path)}: {reason}")
