"""Parity of the pure-Python BPE (solution/rudolph/bpe.py) with youtokentome itself.

Four models trained here (a 16,384-token one on a generated corpus, the ruDALL-E conventions on
task texts, mixed case with rare characters left out, and pad absent so that ▁ gets id 0), each
checked on the same 100,000+ strings: the string families of scripts/bench_tokenizer.py (the
project's synthetic texts raw and lower-cased, Russian sentences with odd separators, random
Unicode, fresh words, very long words and texts, empty and separator-only strings). Ids must be
identical, and so must the decoding of random id sequences that include the special ids.
"""

import random

import pytest
from helpers.scripts import load_script

from solution.rudolph.bpe import BPE
from solution.rudolph.tokenizer import train_bpe

yttm = pytest.importorskip("youtokentome")
bench = load_script("bench_tokenizer")

STRINGS_PER_FAMILY = {
    "task texts": 25_000,
    "task texts lower-cased": 25_000,
    "odd separators": 25_000,
    "random unicode": 20_000,
    "unique-word sentences": 3_000,
    "long texts": 40,
    "empty and separators": 2_000,
}


def train_raw(folder, texts, vocab_size, **options):
    """youtokentome's own training on texts as they are (mixed case, odd characters)."""
    data = folder / "corpus.txt"
    data.write_text("\n".join(texts), encoding="utf-8")
    model = folder / "bpe.model"
    yttm.BPE.train(data=str(data), model=str(model), vocab_size=vocab_size, n_threads=1, **options)
    return model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    rng = random.Random(21)
    task_texts = bench.synthetic_texts(100)
    mixed = task_texts + bench.odd_separator_sentences(rng, 3000) + bench.random_unicode(rng, 300)
    return {
        "16384 generated": train_bpe(bench.training_corpus(20_000), tmp_path_factory.mktemp("big") / "bpe.model", 16_384),
        "1000 task texts": train_bpe(task_texts, tmp_path_factory.mktemp("task") / "bpe.model", 1000),
        "4000 mixed, coverage 0.99": train_raw(tmp_path_factory.mktemp("mixed"), mixed, 4000, coverage=0.99),
        "2000 no pad": train_raw(tmp_path_factory.mktemp("nopad"), task_texts, 2000, pad_id=-1, unk_id=5, bos_id=6,
                                 eos_id=7),
    }


@pytest.fixture(scope="module")
def strings():
    return {name: bench.FAMILIES[name](random.Random(i), n) for i, (name, n) in enumerate(STRINGS_PER_FAMILY.items())}


def test_models_cover_the_intended_cases(models):
    big = BPE.load(models["16384 generated"])
    assert big.vocab_size == 16_384
    nopad = BPE.load(models["2000 no pad"])
    assert nopad.chars["\u2581"] == 0 and nopad.special.pad == -1
    mixed_chars = set(BPE.load(models["4000 mixed, coverage 0.99"]).chars)
    private_use = {chr(c) for c in range(0xE000, 0xE100)}
    assert "а" in mixed_chars and 0 < len(private_use - mixed_chars) < 256  # rare characters left out


@pytest.mark.parametrize("name", ["16384 generated", "1000 task texts", "4000 mixed, coverage 0.99", "2000 no pad"])
def test_ids_and_decoding_identical_to_youtokentome(models, strings, name):
    ours, theirs = BPE.load(models[name]), yttm.BPE(str(models[name]))
    assert ours.vocab_size == theirs.vocab_size()
    assert [ours.id_to_subword(i) for i in range(ours.vocab_size)] == theirs.vocab()
    assert sum(len(texts) for texts in strings.values()) >= 100_000
    for family, texts in strings.items():
        expected = theirs.encode(texts, output_type=yttm.OutputType.ID)
        got = [ours.encode(t) for t in texts]
        mismatches = [(t[:80], g[:20], e[:20]) for t, g, e in zip(texts, got, expected, strict=True) if g != e]
        assert not mismatches, (family, len(mismatches), mismatches[:3])

    rng = random.Random(7)
    specials = list(ours.special.present().values())
    ids = [[rng.choice(specials) if rng.random() < 0.15 else rng.randrange(ours.vocab_size)
            for _ in range(rng.randint(0, 30))] for _ in range(20_000)]
    assert [ours.decode(i) for i in ids] == theirs.decode(ids)
    ignore = specials + [rng.randrange(ours.vocab_size) for _ in range(20)]
    assert [ours.decode(i, ignore_ids=ignore) for i in ids] == theirs.decode(ids, ignore_ids=ignore)
