#!/usr/bin/env python3
"""BPE encoding and decoding speed: youtokentome against our pure-Python reader (solution/rudolph/bpe.py).

Prints strings per second for each family of texts below (the same families the parity tests
check id for id), one youtokentome call per text and one batched call, and whether both gave the
same ids. Needs youtokentome installed. Without --bpe a 16,384-token model is first trained on a
generated corpus (a few seconds). Each figure is the fastest of --repeat runs.

  python scripts/bench_tokenizer.py
  python scripts/bench_tokenizer.py --bpe weights/demo/bpe.model --strings 5000
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fbc2_io.console import make_console_safe  # noqa: E402

CONSONANTS = "бвгджзклмнпрстфхцчшщ"
VOWELS = "аеиоуыэюяё"
ODD_SEPARATORS = ["\t", "  ", "   ", "\u00a0", "\u2581", "\r\n", "\v", "\f", "\u0085", "\u2000", "\u3000",
                  "\u001c", " \u2581 ", "\t\t", "\n"]
PUNCTUATION = ",.!?;:—-«»()\"'"

# Code point ranges of the random Unicode mix: controls, ASCII, Latin-1, Cyrillic, combining marks,
# general punctuation and spaces, CJK, emoji, private use, and the separators themselves.
UNICODE_RANGES = [(0x00, 0x1F), (0x20, 0x7E), (0x7F, 0xFF), (0x400, 0x4FF), (0x300, 0x36F), (0x2000, 0x206F),
                  (0x4E00, 0x4E80), (0x1F600, 0x1F64F), (0xE000, 0xE0FF), (0x2581, 0x2581), (0x3000, 0x3000)]


def pseudo_word(rng: random.Random) -> str:
    """A Russian-looking word of 1 to 4 syllables."""
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) + (rng.choice(CONSONANTS) if rng.random() < 0.3 else "")
                   for _ in range(rng.randint(1, 4)))


def pseudo_lexicon(rng: random.Random, size: int) -> list[str]:
    return [pseudo_word(rng) for _ in range(size)]


def synthetic_texts(per_task: int, seed: int = 11) -> list[str]:
    """Every text and answer of the project's synthetic generator: TextQA and MathQA ``per_task``
    samples each, the image tasks a tenth of that, at most 50 (they draw images, which is slow)."""
    from fbc2_tasks import IMAGE_TASK_NAMES, TEXT_TASK_NAMES
    from synthetic_fbc2 import generate_split

    samples = generate_split("train", per_task, seed=seed, tasks=list(TEXT_TASK_NAMES))
    samples += generate_split("train", min(50, max(1, per_task // 10)), seed=seed, tasks=list(IMAGE_TASK_NAMES))
    return [t for s in samples for t in [*s.texts, *(s.answers or [])]]


def training_corpus(lines: int, seed: int = 0) -> list[str]:
    """Russian-looking sentences (a Zipf-like draw from 40,000 pseudo-words) plus synthetic task
    texts: enough variety for a 16,384-token BPE."""
    rng = random.Random(seed)
    lexicon = pseudo_lexicon(rng, 40_000)
    cum_weights = list(itertools.accumulate(1 / (rank + 10) for rank in range(len(lexicon))))
    sentences = [" ".join(rng.choices(lexicon, cum_weights=cum_weights, k=rng.randint(3, 15))) for _ in range(lines)]
    return sentences + synthetic_texts(200)


# ---------------------------------------------------------------------------------- string families


def odd_separator_sentences(rng: random.Random, n: int) -> list[str]:
    """Russian sentences (real task words and pseudo-words, mixed case, punctuation) joined by
    tabs, runs of spaces, U+00A0, ▁, U+0085, U+2000, ... at the ends too."""
    words = [w for t in synthetic_texts(20) for w in t.split()] + pseudo_lexicon(rng, 2000)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            word = rng.choice(words)
            word = word.upper() if rng.random() < 0.1 else word.capitalize() if rng.random() < 0.2 else word
            if rng.random() < 0.2:
                word += rng.choice(PUNCTUATION)
            parts += [rng.choice(ODD_SEPARATORS) if rng.random() < 0.5 else " ", word]
        if rng.random() < 0.3:
            parts.append(rng.choice(ODD_SEPARATORS))
        out.append("".join(parts[1:] if rng.random() < 0.5 else parts))
    return out


def random_unicode(rng: random.Random, n: int) -> list[str]:
    """Random mixes of the UNICODE_RANGES code points, 0 to 60 characters."""
    def char() -> str:
        lo, hi = rng.choice(UNICODE_RANGES)
        return chr(rng.randint(lo, hi))
    return ["".join(char() for _ in range(rng.randint(0, 60))) for _ in range(n)]


def unique_word_sentences(rng: random.Random, n: int) -> list[str]:
    """About 180-character sentences of fresh pseudo-words (the worst case for a word cache)."""
    out = []
    for _ in range(n):
        words = []
        while sum(len(w) + 1 for w in words) < 180:
            words.append(pseudo_word(rng) + pseudo_word(rng))
        out.append(" ".join(words))
    return out


def long_texts(rng: random.Random, n: int) -> list[str]:
    """Very long words (one letter repeated, pseudo-words glued together, unknown characters
    inside) and long texts, 1,000 to 30,000 characters."""
    kinds = [
        lambda: rng.choice(VOWELS + "ab") * rng.randint(1000, 30_000),
        lambda: "".join(pseudo_word(rng) for _ in range(rng.randint(300, 3000))),
        lambda: "".join(pseudo_word(rng) + (chr(rng.randint(0x4E00, 0x4E80)) if rng.random() < 0.1 else "")
                        for _ in range(rng.randint(300, 2000))),
        lambda: " ".join(pseudo_word(rng) for _ in range(rng.randint(500, 5000))),
    ]
    return [rng.choice(kinds)() for _ in range(n)]


def empty_and_separators(rng: random.Random, n: int) -> list[str]:
    """Empty strings, separator-only strings, and single characters between separators."""
    out = []
    for _ in range(n):
        seps = "".join(rng.choice("\t\n\v\f\r \u2581") for _ in range(rng.randint(0, 8)))
        out.append(seps if rng.random() < 0.7 else seps + chr(rng.randint(0x20, 0x4FF)) + seps)
    return out


FAMILIES: dict[str, Callable[[random.Random, int], list[str]]] = {
    "task texts": lambda rng, n: rng.choices(synthetic_texts(max(10, n // 10)), k=n),
    "task texts lower-cased": lambda rng, n: [t.lower() for t in FAMILIES["task texts"](rng, n)],
    "odd separators": odd_separator_sentences,
    "unique-word sentences": unique_word_sentences,
    "random unicode": random_unicode,
    "long texts": long_texts,
    "empty and separators": empty_and_separators,
}


# ---------------------------------------------------------------------------------------------- bench


def best_rate(prepare: Callable[[], Callable[[], object]], count: int, repeat: int) -> float:
    """Strings per second of the fastest of ``repeat`` runs (a shared machine only ever slows a
    run down); ``prepare()``, untimed, gives the run."""
    best = math.inf
    for _ in range(repeat):
        run = prepare()
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return count / max(best, 1e-9)


def bench_family(name: str, texts: list[str], path: Path, library, repeat: int) -> None:
    """One row: ours (from an empty word cache each run), youtokentome one text per call, and batched."""
    import youtokentome as yttm

    from solution.rudolph.bpe import BPE

    ids = yttm.OutputType.ID
    model = BPE.load(path)
    same = [model.encode(t) for t in texts] == library.encode(texts, output_type=ids)
    ours = best_rate(lambda: partial(lambda model: [model.encode(t) for t in texts], BPE.load(path)), len(texts), repeat)
    one = best_rate(lambda: lambda: [library.encode([t], output_type=ids) for t in texts], len(texts), repeat)
    batch = best_rate(lambda: lambda: library.encode(texts, output_type=ids), len(texts), repeat)
    print(f"{name:24} {len(texts):8d} {ours:10.0f} {one:10.0f} {batch:13.0f}  {'yes' if same else 'NO'}")


def bench_decode(ids: list[list[int]], ours, library, repeat: int) -> None:
    same = [ours.decode(i) for i in ids] == library.decode(ids)
    ours_rate = best_rate(lambda: lambda: [ours.decode(i) for i in ids], len(ids), repeat)
    one = best_rate(lambda: lambda: [library.decode([i]) for i in ids], len(ids), repeat)
    batch = best_rate(lambda: lambda: library.decode(ids), len(ids), repeat)
    print(f"{'decode (random ids)':24} {len(ids):8d} {ours_rate:10.0f} {one:10.0f} {batch:13.0f}  "
          f"{'yes' if same else 'NO'} (same texts)")


def main(argv=None) -> int:
    make_console_safe()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bpe", type=Path, help="a youtokentome model file (default: train a 16,384-token one)")
    p.add_argument("--vocab-size", type=int, default=16_384, help="vocabulary of the trained model")
    p.add_argument("--strings", type=int, default=20_000, help="strings per family (long texts: a hundredth)")
    p.add_argument("--repeat", type=int, default=3, help="runs per figure; the fastest counts")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        import youtokentome as yttm
    except ImportError:
        p.error("youtokentome is not installed: the benchmark compares against it")
    from solution.rudolph.bpe import BPE
    from solution.rudolph.tokenizer import train_bpe

    with tempfile.TemporaryDirectory() as tmp:
        path = args.bpe
        if path is None:
            t0 = time.perf_counter()
            path = train_bpe(training_corpus(20_000), Path(tmp) / "bpe.model", args.vocab_size)
            print(f"trained a {args.vocab_size}-token BPE in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        ours = BPE.load(path)
        load_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        library = yttm.BPE(str(path))
        load_library = time.perf_counter() - t0
        print(f"model {path}: {ours.vocab_size} tokens; load: ours {load_ours * 1000:.0f} ms, "
              f"youtokentome {load_library * 1000:.0f} ms; strings per second, the best of {args.repeat} runs")
        print(f"{'family':24} {'strings':>8} {'ours/s':>10} {'yttm/s':>10} {'yttm batch/s':>13}  same ids")
        for name, make in FAMILIES.items():
            n = max(10, args.strings // 100) if name == "long texts" else args.strings
            bench_family(name, make(random.Random(args.seed), n), path, library, args.repeat)
        rng = random.Random(args.seed)
        specials = list(ours.special.present().values())
        ids = [[rng.choice(specials) if rng.random() < 0.1 else rng.randrange(ours.vocab_size)
                for _ in range(rng.randint(1, 40))] for _ in range(args.strings)]
        bench_decode(ids, ours, library, args.repeat)
    return 0

if __name__ == "__main__":
    sys.exit(main())
