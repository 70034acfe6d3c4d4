"""Team names compared as a reader sees them, so a look-alike of a real team is flagged.

Two names are the same name when their keys (`name_key`) are equal. The key is the name after
NFKC (fullwidth, mathematical and other compatibility forms become plain letters), without
invisible code points (format characters such as zero-width spaces and joiners, combining marks,
variation selectors, blank fillers), case-folded, with the Cyrillic and Greek letters that look
like Latin ones mapped to those (`CONFUSABLES`), and with runs of white space made one space.
"Team", "Теam" (a Cyrillic е), "Te\u200bam" and "Team\u0301" all have the key "team".

Dropping every combining mark also makes "Café" and "Cafe" one name: a flag for the organiser to
look at, never a refusal. `reveal` shows which code points of a name are not what they seem.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict

# Case-folded Cyrillic and Greek letters drawn like a Latin letter (in upper or lower case).
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "һ": "h",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "h", "ι": "i", "κ": "k", "μ": "m", "ν": "n", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "y", "χ": "x",
    # Latin letters that read as another Latin letter
    "ı": "i", "ȷ": "j",
}

# Blank letters and other code points drawn as nothing that are not format characters or marks.
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u034f")
INVISIBLE_CATEGORIES = ("Cf", "Cc", "Cs", "Co", "Cn", "Mn", "Me")


def _invisible(ch: str) -> bool:
    return ch in BLANKS or unicodedata.category(ch) in INVISIBLE_CATEGORIES


def name_key(name: str) -> str:
    """The form two team names are compared in (equal keys: the same name to a reader)."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name))
    visible = "".join(ch for ch in decomposed if not _invisible(ch)).casefold()
    mapped = "".join(CONFUSABLES.get(ch, ch) for ch in visible)
    return " ".join(unicodedata.normalize("NFC", mapped).split())


def scripts(name: str) -> list[str]:
    """The scripts of the letters in `name`, as Unicode names them ("LATIN", "CYRILLIC", ...)."""
    found = {unicodedata.name(ch, "UNKNOWN").split()[0] for ch in unicodedata.normalize("NFKC", name) if ch.isalpha()}
    return sorted(found)


def reveal(name: str) -> str:
    """`name` with its invisible code points, and in a name mixing Latin with other letters its
    look-alike letters, written as \\u escapes ("Теam" -> "T\\u0435am"; "Тор" stays "Тор")."""
    mixed = len(scripts(name)) > 1
    shown = []
    for ch in name:
        folded = unicodedata.normalize("NFKC", ch).casefold()
        look_alike = any(c in CONFUSABLES for c in folded) or folded != ch.casefold()
        if _invisible(ch) or (mixed and look_alike):
            shown.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            shown.append(ch)
    return "".join(shown)


def _described(name: str) -> str:
    return f"'{reveal(name)}' ({'+'.join(scripts(name)) or 'no letters'})"


def same_name_groups(names: list[str]) -> list[list[int]]:
    """The indices of `names` that share a key, in groups of two or more, in the order of `names`."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for index, name in enumerate(names):
        by_key[name_key(name)].append(index)
    return [group for group in by_key.values() if len(group) > 1]


def look_alike_notes(names: list[str]) -> dict[int, str]:
    """For each name that reads like another, different one: a note naming the others (escaped).
    Names that are exactly equal are duplicates, not look-alikes, and get no note here."""
    notes = {}
    for group in same_name_groups(names):
        for index in group:
            others = sorted({names[other] for other in group if names[other] != names[index]})
            if others:
                notes[index] = (f"the name {_described(names[index])} looks like "
                                + ", ".join(_described(other) for other in others)
                                + " (compared after Unicode normalisation, case folding and look-alike letters)")
    return notes
