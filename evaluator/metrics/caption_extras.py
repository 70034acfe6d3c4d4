"""Non-official diagnostics from pycocoevalcap: BLEU-1..4, ROUGE-L and CIDEr.

They are NOT part of the FBC2 score; every report labels them "non-official". We tokenize
ourselves (lower-case, NLTK's data-free Treebank tokenizer) instead of pycocoevalcap's
PTBTokenizer, which starts a Java process, and call the scorers directly.
"""

from __future__ import annotations

from evaluator.metrics.meteor import tokenize

NON_OFFICIAL_NOTE = "non-official diagnostics (pycocoevalcap BLEU-1..4, ROUGE-L, CIDEr); not part of the FBC2 score"


def _tokens(text: str) -> str:
    return " ".join(tokenize(text.lower()))


def caption_extras(pairs: list[tuple[str, list[str]]]) -> dict[str, float]:
    """Corpus BLEU-1..4, mean ROUGE-L and CIDEr over (prediction, gold answers) pairs.

    A missing prediction should be passed as "" (it then scores 0 on every sentence measure)."""
    pairs = [(hyp, golds) for hyp, golds in pairs if golds]
    if not pairs:
        return {}
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    res = {i: [_tokens(hyp)] for i, (hyp, _) in enumerate(pairs)}
    gts = {i: [_tokens(g) for g in golds] for i, (_, golds) in enumerate(pairs)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    rouge = Rouge()
    rouge_values = [rouge.calc_score(res[i], gts[i]) if res[i][0] and all(gts[i]) else 0.0 for i in res]
    out = {f"BLEU-{n + 1}": float(value) for n, value in enumerate(bleu)}
    out["ROUGE-L"] = float(sum(rouge_values) / len(rouge_values))
    out["CIDEr"] = float(cider)
    return out
