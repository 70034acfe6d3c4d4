"""Command-line output that survives its console: a cp1251 or ASCII terminal, a lone surrogate in an
id, an emoji in a team name. Call :func:`make_console_safe` first thing in every ``main``."""

from __future__ import annotations

import sys


def make_console_safe() -> None:
    """Make stdout and stderr replace what their encoding cannot hold (``\\u2603`` escapes) instead
    of raising UnicodeEncodeError. Streams that cannot be reconfigured (None, a test capture) are
    left alone."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        try:
            reconfigure(errors="backslashreplace")
        except (ValueError, OSError):  # a closed or detached stream
            pass
