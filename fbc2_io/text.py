"""Text from data: lone surrogates (valid in JSON, not in UTF-8) and strings safe to print."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePath

_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_SHOWN_CHARS = 200


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (a JSON ``"\\ud800"`` escape makes one)."""
    return _SURROGATE.search(text) is not None


def without_surrogates(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (tokenizers and UTF-8 refuse them)."""
    return _SURROGATE.sub("\ufffd", text)


def printable(value: object, max_chars: int = MAX_SHOWN_CHARS) -> str:
    """``value`` (a path, a string or anything else) as it may be printed on one line: control and
    format characters escaped, lone surrogates escaped, cut to ``max_chars`` with an ellipsis."""
    if isinstance(value, PurePath):
        value = str(value)
    text = value if isinstance(value, str) else repr(value)
    text = "".join(repr(ch)[1:-1] if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= max_chars else text[:max_chars - 1] + "…"
