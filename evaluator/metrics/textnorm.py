"""Text normalisation shared by the official FBC2 text metrics.

The official scorer lower-cases, deletes `string.punctuation` (MathQA keeps "-"), replaces each
word by its pymorphy normal form and maps Russian number lemmas to digits. pymorphy3 with the
Russian dictionaries is the maintained successor of the pymorphy2 the official scorer used.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

# Lemmas the official scorer maps to digits after lemmatisation.
NUMBER_LEMMAS = {
    "ноль": "0",
    "нисколько": "0",
    "никакой": "0",
    "один": "1",
    "два": "2",
    "три": "3",
    "четыре": "4",
    "пять": "5",
    "шесть": "6",
    "семь": "7",
    "восемь": "8",
    "девять": "9",
    "десять": "10",
}

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_PUNCTUATION_KEEP_HYPHEN = str.maketrans("", "", string.punctuation.replace("-", ""))

_morph = None


def _analyzer():
    global _morph
    if _morph is None:
        import pymorphy3  # imported lazily: building the analyzer takes about a second

        _morph = pymorphy3.MorphAnalyzer()
    return _morph


@lru_cache(maxsize=200_000)
def lemma(text: str) -> str:
    """pymorphy's first-parse normal form of `text`, then the number-lemma map.

    `text` is normally one word; the VisualQA metric deliberately passes a whole phrase
    (an official quirk: only the phrase's ending can change).
    """
    if not text:
        return text
    normal = _analyzer().parse(text)[0].normal_form
    return NUMBER_LEMMAS.get(normal, normal)


def remove_punctuation(text: str, keep_hyphen: bool = False) -> str:
    """Delete every character of Python's `string.punctuation` (optionally keeping "-")."""
    return text.translate(_PUNCTUATION_KEEP_HYPHEN if keep_hyphen else _PUNCTUATION)


def normalize_answer(text: str, keep_hyphen: bool = False) -> str:
    """TextQA/MathQA normalisation: lower, drop punctuation, lemmatise word by word, join."""
    cleaned = remove_punctuation(text.lower(), keep_hyphen=keep_hyphen)
    return " ".join(lemma(word) for word in cleaned.split())


# English number words, as the official scorer's `wordtodigits.convert` turns them into digits.
_UNITS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {word: 10 * (i + 2) for i, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"thousand": 1000, "million": 1_000_000}


def _is_number_word(word: str) -> bool:
    w = word.lower()
    return w in _UNITS or w in _TENS or w == "hundred" or w in _SCALES


def english_numbers_to_digits(text: str) -> str:
    """Replace runs of English number words by digits; everything else passes through.

    "twenty one cats" -> "21 cats", "one hundred and five" -> "105". Russian text is unchanged
    except that whitespace is collapsed to single spaces (as `wordtodigits.convert` does).
    Decimal "point" words are not handled (the official inputs have punctuation removed first).
    """
    tokens = text.split()
    out: list[str] = []
    total = current = 0
    in_number = False
    for i, token in enumerate(tokens):
        word = token.lower()
        if _is_number_word(word):
            in_number = True
            if word in _UNITS:
                current += _UNITS[word]
            elif word in _TENS:
                current += _TENS[word]
            elif word == "hundred":
                current *= 100
            else:
                total += current * _SCALES[word]
                current = 0
            continue
        if word == "and" and i + 1 < len(tokens) and _is_number_word(tokens[i + 1]):
            continue  # as wordtodigits: an "and" before a number word is dropped, even outside a number
        if in_number:
            out.append(str(total + current))
            total = current = 0
            in_number = False
        out.append(token)
    if in_number:
        out.append(str(total + current))
    return " ".join(out)


_FIRST_LETTER = re.compile("[abcde]")


def first_option_letter(raw_prediction: str) -> str | None:
    """The letter-fallback quirk: the first of the lower-case Latin letters a-e anywhere in the
    raw prediction (case-sensitive, as the official `re.search('[abcde]', prediction)`)."""
    found = _FIRST_LETTER.search(raw_prediction)
    return found.group(0) if found else None
