"""METEOR as the official FBC2 scorer computes it (its vendored copy of NLTK's METEOR).

Alignment is greedy in three stages, each on the words the previous stages left unmatched:
exact match, Porter-stem match (NLTK's English stemmer, which leaves Cyrillic words almost
unchanged), and RuWordNet synonym match when a database is given. Within a stage the hypothesis
is scanned from its last word to its first and each word takes the last unmatched reference word
that matches. After the stem stage the unmatched words are the *stemmed* forms (as in NLTK).
With gamma = 0 (the official setting) there is no fragmentation penalty, so only the number of
matches counts: F = P*R / (alpha*P + (1-alpha)*R) = 10PR / (R + 9P) for alpha = 0.9.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

_stemmer = None
_tokenizer = None


class SynonymSource(Protocol):
    def synonyms(self, word: str) -> frozenset[str]: ...


def tokenize(text: str) -> list[str]:
    """NLTK's data-free Treebank tokenizer (what `word_tokenize` gives on one sentence)."""
    global _tokenizer
    if _tokenizer is None:
        from nltk.tokenize import NLTKWordTokenizer

        _tokenizer = NLTKWordTokenizer()
    return _tokenizer.tokenize(text)


@lru_cache(maxsize=200_000)
def porter_stem(word: str) -> str:
    global _stemmer
    if _stemmer is None:
        from nltk.stem.porter import PorterStemmer

        _stemmer = PorterStemmer()
    return _stemmer.stem(word)


def _match_stage(hyp: list[str], ref: list[str]) -> int:
    """Greedy exact matching in the official order; removes matched words in place."""
    matches = 0
    for i in range(len(hyp) - 1, -1, -1):
        for j in range(len(ref) - 1, -1, -1):
            if hyp[i] == ref[j]:
                matches += 1
                hyp.pop(i)
                ref.pop(j)
                break
    return matches


def _synonym_stage(hyp: list[str], ref: list[str], source: SynonymSource) -> int:
    matches = 0
    for i in range(len(hyp) - 1, -1, -1):
        candidates = source.synonyms(hyp[i])
        if not candidates:
            continue
        for j in range(len(ref) - 1, -1, -1):
            if ref[j] in candidates:
                matches += 1
                hyp.pop(i)
                ref.pop(j)
                break
    return matches


def count_matches(hypothesis: list[str], reference: list[str], synonyms: SynonymSource | None = None) -> int:
    """Number of aligned word pairs after the exact, stem and (optional) synonym stages."""
    hyp = [w.lower() for w in hypothesis]
    ref = [w.lower() for w in reference]
    matches = _match_stage(hyp, ref)
    hyp = [porter_stem(w) for w in hyp]
    ref = [porter_stem(w) for w in ref]
    matches += _match_stage(hyp, ref)
    if synonyms is not None:
        matches += _synonym_stage(hyp, ref, synonyms)
    return matches


def meteor_fmean(hypothesis: list[str], reference: list[str], synonyms: SynonymSource | None = None,
                 alpha: float = 0.9) -> float:
    """Sentence METEOR with gamma = 0: the weighted harmonic mean of unigram P and R (0 if no match)."""
    if not hypothesis or not reference:
        return 0.0
    matches = count_matches(hypothesis, reference, synonyms)
    if matches == 0:
        return 0.0
    precision = matches / len(hypothesis)
    recall = matches / len(reference)
    return precision * recall / (alpha * precision + (1 - alpha) * recall)
