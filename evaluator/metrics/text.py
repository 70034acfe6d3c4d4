"""The official FBC2 per-sample metrics, quirks included (see shared/spec/metrics.md).

Every function has one signature, ``(prediction, golds, synonyms=None) -> float``: the raw predicted
string, the list of acceptable gold answers and an optional synonym source (only METEOR uses it;
the others accept and ignore it). It returns the best value over the gold answers, in [0, 1]:

- `textqa_f1`     TextQA: token F1 on normalised words, with the letter fallback;
- `mathqa_exact`  MathQA: exact match on normalised text (keeps "-"), with the letter fallback;
- `tritw_ned`     TRitW: 1 - normalised Levenshtein distance on the raw strings;
- `vqa_meteor`    VisualQA (and the METEOR half of ImageCaptioning): Russian METEOR with
                  whole-string lemmatisation and the numeric rule.

`TEXT_METRICS` maps each metric's registry name to its function.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from evaluator.metrics.meteor import SynonymSource, meteor_fmean, tokenize
from evaluator.metrics.textnorm import (
    english_numbers_to_digits,
    first_option_letter,
    lemma,
    normalize_answer,
    remove_punctuation,
)

# ---------------------------------------------------------------------------------------------
# TextQA


def token_f1(gold: str, prediction: str) -> float:
    """SQuAD-style token F1 on normalised words (1 if both are empty, 0 if only one is)."""
    gold_tokens = normalize_answer(gold).split()
    pred_tokens = normalize_answer(prediction).split()
    if not gold_tokens or not pred_tokens:
        return float(gold_tokens == pred_tokens)
    common = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_tokens)
    recall = common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _with_letter_fallback(prediction: str, golds: list[str], score_one: Callable[[str, str], float]) -> float:
    """Best over golds; if that is <= 0.5 and the raw prediction contains a lower-case a-e,
    rescore with that first letter alone, and that value replaces the first (even if lower)."""
    best = max(score_one(gold, prediction) for gold in golds)
    if best <= 0.5:
        letter = first_option_letter(prediction)
        if letter is not None:
            best = max(score_one(gold, letter) for gold in golds)
    return best


def textqa_f1(prediction: str, golds: list[str], synonyms: SynonymSource | None = None) -> float:
    """Official TextQA score of one sample: best token F1 over golds, with the letter fallback."""
    if not golds:
        return 0.0
    return float(_with_letter_fallback(prediction, golds, token_f1))


# ---------------------------------------------------------------------------------------------
# MathQA


def exact_match(gold: str, prediction: str) -> float:
    """1.0 if the MathQA-normalised (hyphen kept) strings are equal."""
    return float(normalize_answer(gold, keep_hyphen=True) == normalize_answer(prediction, keep_hyphen=True))


def mathqa_exact(prediction: str, golds: list[str], synonyms: SynonymSource | None = None) -> float:
    """Official MathQA score of one sample: exact match against any gold, with the letter fallback."""
    if not golds:
        return 0.0
    return float(_with_letter_fallback(prediction, golds, exact_match))


# ---------------------------------------------------------------------------------------------
# TRitW


def levenshtein(a: str, b: str) -> int:
    """Unit-cost edit distance (insert, delete, substitute), as NLTK's `edit_distance`."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def one_minus_ned(gold: str, prediction: str) -> float:
    """1 - lev / max(len); 0 when either string is empty. Raw strings, case-sensitive."""
    if not gold or not prediction:
        return 0.0
    return 1.0 - levenshtein(prediction, gold) / max(len(prediction), len(gold))


def tritw_ned(prediction: str, golds: list[str], synonyms: SynonymSource | None = None) -> float:
    """Official TRitW score of one sample: best 1 - NED over golds."""
    if not golds:
        return 0.0
    return max(one_minus_ned(gold, prediction) for gold in golds)


# ---------------------------------------------------------------------------------------------
# VisualQA METEOR


def meteor_preprocess(text: str) -> str:
    """Lower-case, drop punctuation, then lemmatise the WHOLE string as if it were one word
    (the official quirk: only the ending of the phrase can change; "на велосипеде" -> "на велосипед")."""
    return lemma(remove_punctuation(text).lower())


def _parse_number(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def numeric_closeness(x: float, y: float) -> float:
    """min/max of two non-negative numbers, 1 when both are 0."""
    if x == 0 and y == 0:
        return 1.0
    low, high = min(x, y), max(x, y)
    return low / high if high else 0.0


def meteor_one(gold: str, prediction: str, synonyms: SynonymSource | None = None) -> float:
    """One gold answer: numeric rule if the processed gold is a single numeric token, else METEOR."""
    hypothesis = tokenize(english_numbers_to_digits(meteor_preprocess(prediction)))
    reference = tokenize(meteor_preprocess(gold))
    if len(reference) == 1 and reference[0].isnumeric():
        gold_value = _parse_number(reference[0])
        if gold_value is None:
            return 0.0
        for token in hypothesis:
            value = _parse_number(token)
            if value is not None:
                return numeric_closeness(value, gold_value)
        return 0.0
    return meteor_fmean(hypothesis, reference, synonyms)


def vqa_meteor(prediction: str, golds: list[str], synonyms: SynonymSource | None = None) -> float:
    """Official VisualQA score of one sample: best over golds of `meteor_one` (0 if none)."""
    return max([0.0] + [meteor_one(gold, prediction, synonyms) for gold in golds])


TextMetricFunction = Callable[[str, list[str], SynonymSource | None], float]

TEXT_METRICS: dict[str, TextMetricFunction] = {
    "textqa_f1": textqa_f1,
    "mathqa_exact": mathqa_exact,
    "tritw_ned": tritw_ned,
    "vqa_meteor": vqa_meteor,
}
