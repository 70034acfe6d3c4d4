"""Answer options in the FBC2 form ``a) ...; b) ...; c) ...`` (Latin letters), written and parsed."""

from __future__ import annotations

import re

LETTERS = "abcdefgh"

# "a) text" up to the next "; <letter>)" or the end
_OPTION_RE = re.compile(r"(?:^|;\s*|:\s*)([a-h])\)\s*(.*?)(?=;\s*[a-h]\)|$)", re.S)


def format_options(options: list[str], prefix: str = "") -> str:
    """``["-4", "-20"]`` -> ``"a) -4; b) -20"`` (with an optional prefix such as "варианты: ")."""
    if not options or len(options) > len(LETTERS):
        raise ValueError(f"need 1..{len(LETTERS)} options, got {len(options)}")
    return prefix + "; ".join(f"{LETTERS[i]}) {opt}" for i, opt in enumerate(options))


def parse_options(text: str) -> list[tuple[str, str]]:
    """Return ``[(letter, option text), ...]`` from an options string, or ``[]`` if it has none.

    The letters must run a, b, c, ... from the start; text before "a)" (e.g. "варианты:") is
    ignored.
    """
    start = re.search(r"(?:^|\s)a\)", text)
    if start is None:
        return []
    found = [(m.group(1), m.group(2).strip()) for m in _OPTION_RE.finditer(text[start.start():].strip())]
    for i, (letter, _) in enumerate(found):
        if i >= len(LETTERS) or letter != LETTERS[i]:  # "a) .. h) x; a) y": a ninth option is no list
            return []
    return found


def gold_forms(letter: str, value: str) -> list[str]:
    """Gold list for an option answer, canonical first: "b) value", "b", "value", "b value"."""
    forms = [f"{letter}) {value}", letter, value, f"{letter} {value}"]
    return list(dict.fromkeys(forms))
