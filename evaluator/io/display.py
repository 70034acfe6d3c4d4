"""Text taken from data, made safe to print: names and paths in tables, messages and pages."""

from __future__ import annotations

import unicodedata

MAX_SHOWN_CHARS = 200  # a path or value as printed in a message


def clean_text(text: str, max_chars: int | None = None) -> str:
    """`text` without control or format characters (terminal escapes, bidi overrides, NUL, lone
    surrogates, line breaks), cut to `max_chars`."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    if max_chars is not None and len(kept) > max_chars:
        kept = kept[:max_chars - 1] + "…"
    return kept


def shown(value) -> str:
    """A path or value as it may be printed: control characters and surrogates escaped, cut to 200
    characters. For messages only: never open a file by its shown form."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(repr(ch)[1:-1] if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS - 1] + "…"
