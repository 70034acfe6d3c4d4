"""The pure-Python youtokentome BPE (solution/rudolph/bpe.py) on hand-made models: golden ids and
texts worked out by hand, the merge order against a naive re-scan, the cache, and refused files.
The parity with youtokentome itself on trained models is tests/rudolph/test_bpe_parity.py."""

import random

import pytest

from solution.rudolph.bpe import BPE, BPEModelError, without_lone_surrogates

# Characters ▁ a b c (ids 4-7), specials unk 1 pad 0 bos 2 eos 3, and the rules in priority order.
# Rule 0 and rule 3 are the same pair: the later one (id 11) wins. Ids 12 and 14 both spell "▁ab".
HAND_MODEL = """4 7
9601 4
97 5
98 6
99 7
5 6 8
5 5 9
7 7 10
5 6 11
4 11 12
4 5 13
13 6 14
1 0 2 3
"""


def write_model(folder, text, name="bpe.model"):
    path = folder / name
    path.write_text(text, encoding="ascii")
    return path


@pytest.fixture()
def hand(tmp_path):
    return BPE.load(write_model(tmp_path, HAND_MODEL))


def test_hand_model_reads_its_sizes_and_spellings(hand):
    assert hand.vocab_size == 15
    assert [hand.id_to_subword(i) for i in (0, 1, 2, 3)] == ["<PAD>", "<UNK>", "<BOS>", "<EOS>"]
    assert [hand.id_to_subword(i) for i in range(4, 15)] == ["▁", "a", "b", "c", "ab", "aa", "cc", "ab", "▁ab", "▁a",
                                                             "▁ab"]
    with pytest.raises(ValueError, match="vocab_size = 15, id = 15"):
        hand.id_to_subword(15)


@pytest.mark.parametrize(("text", "ids"), [
    ("ab", [12]),  # a+b (the later rule 3, id 11) first, then ▁+ab: id 12, never the same-spelled 14
    ("a", [13]),
    ("aab", [4, 9, 6]),  # a+a (rule 1) beats a+b (rule 3) and ▁+a (rule 5)
    ("aaa", [4, 9, 5]),  # two a+a pairs: the leftmost merges, which leaves ▁ aa a
    ("cccc", [4, 10, 10]),
    ("ccc", [4, 10, 7]),
    ("xab", [4, 1, 11]),  # an unknown character is one unk symbol that never merges
    ("xyzab", [4, 1, 11]),  # a run of unknown characters is one unk
    ("axb", [13, 1, 6]),
    ("a\u00a0b", [13, 1, 6]),  # U+00A0 is an ordinary (here unknown) character, not a separator
    (" ab\t\u2581a  ", [12, 13]),  # tab, ▁ and spaces separate words
    ("a\u2581\u2581b\r\n\v\fc", [13, 4, 6, 4, 7]),
    ("", []),
    (" \t\n\v\f\r\u2581 ", []),
])
def test_hand_model_encodings(hand, text, ids):
    assert hand.encode(text) == ids


@pytest.mark.parametrize(("ids", "text"), [
    ([12], "ab"),  # the first piece loses its leading space
    ([14], "ab"),  # the same spelling from another rule
    ([4, 12], " ab"),  # only the first piece's space goes: ▁ becomes "", then " ab"
    ([13, 6, 12], "ab ab"),
    ([5, 12, 7], "a abc"),
    ([0, 1, 2, 3], "<PAD><UNK><BOS><EOS>"),
    ([2, 12, 3], "<BOS> ab<EOS>"),
    ([], ""),
])
def test_hand_model_decodings(hand, ids, text):
    assert hand.decode(ids) == text


def test_decode_skips_ignored_ids_before_the_first_piece_rule(hand):
    assert hand.decode([13, 6, 12], ignore_ids=[6]) == "a ab"
    assert hand.decode([2, 12, 3], ignore_ids={2, 3}) == "ab"  # the first emitted piece loses its space
    assert hand.decode([15, 12], ignore_ids=[15]) == "ab"  # an ignored id is not range-checked
    with pytest.raises(ValueError, match="vocab_size = 15, id = 15"):
        hand.decode([12, 15])
    with pytest.raises(ValueError, match="id = -1"):
        hand.decode([-1])


def test_word_start_with_id_0_is_dropped_as_youtokentome_does(tmp_path):
    # pad absent, ▁ has id 0 (what youtokentome's trainer gives with pad_id=-1): a word's first
    # token 0 is not emitted by the library, so not by us.
    model = BPE.load(write_model(tmp_path, "3 2\n9601 0\n97 1\n98 2\n1 2 4\n0 2 5\n3 -1 -1 -1\n"))
    assert model.encode("a") == [1]
    assert model.encode("ab b x") == [4, 5, 3]  # ▁+ab has no rule: ▁ dropped; ▁+b is id 5; x unknown
    assert model.decode([0, 1]) == "a"


def naive_merge(model: BPE, symbols: list[int]) -> list[int]:
    """The rule as the spec states it: merge the earliest rule's leftmost pair, rescanning every time."""
    rank_of = {(x, y): (rank, z) for rank, (x, y, z) in enumerate(model.rules)}
    symbols = list(symbols)
    while True:
        found = [(rank_of[pair][0], i) for i, pair in enumerate(zip(symbols[:-1], symbols[1:], strict=True))
                 if pair in rank_of]
        if not found:
            return symbols
        _, i = min(found)
        symbols[i:i + 2] = [rank_of[(symbols[i], symbols[i + 1])][1]]


def random_model_text(rng: random.Random, chars: str, n_rules: int) -> str:
    """A model file with random rules over ``chars`` (duplicate pairs and same spellings happen)."""
    ids = {ch: i + 4 for i, ch in enumerate("\u2581" + chars)}
    made = list(ids.values())
    rules = []
    for _ in range(n_rules):
        x, y = rng.choice(made), rng.choice(made)
        rules.append((x, y, 4 + len(ids) + len(rules)))
        made.append(rules[-1][2])
    lines = [f"{len(ids)} {len(rules)}"] + [f"{ord(ch)} {i}" for ch, i in ids.items()]
    return "\n".join(lines + [f"{x} {y} {z}" for x, y, z in rules] + ["1 0 2 3", ""])


def test_heap_merge_equals_naive_rescan_on_random_models(tmp_path):
    rng = random.Random(5)
    for k in range(20):
        model = BPE.load(write_model(tmp_path, random_model_text(rng, "abcd", rng.randint(5, 60)), f"m{k}.model"))
        for _ in range(50):
            word = "".join(rng.choice("abcdx") for _ in range(rng.randint(1, 300)))
            symbols = [model.chars["\u2581"]]
            for ch in word:
                unknown = ch not in model.chars
                if not (unknown and symbols[-1] == model.special.unk and len(symbols) > 1):
                    symbols.append(model.special.unk if unknown else model.chars[ch])
            assert model.encode(word) == naive_merge(model, symbols), (k, word)


def test_very_long_word(hand):
    # 200,001 characters in one word: the merge heap keeps this n log n (a rescan would be quadratic).
    assert hand.encode("c" * 200_001) == [4] + [10] * 100_000 + [7]
    assert hand.encode("a" * 100_000 + "b") == [4] + [9] * 50_000 + [6]


def test_word_cache_is_bounded_and_transparent(tmp_path):
    model = BPE.load(write_model(tmp_path, HAND_MODEL), cache_words=10)
    fresh = BPE.load(write_model(tmp_path, HAND_MODEL, "again.model"), cache_words=0)
    words = ["".join(random.Random(i).choice("abcx") for _ in range(1 + i % 7)) for i in range(200)]
    for w in words + words:
        assert model.encode(w) == fresh.encode(w)
        assert len(model._cache) <= 10


def test_lone_surrogate_is_refused_by_the_bpe_and_replaced_with_a_warning(hand):
    with pytest.raises(ValueError, match="lone surrogate U\\+D800"):
        hand.encode("ab a\ud800b")
    with pytest.warns(UserWarning, match="replaced 2 lone surrogate\\(s\\) \\(U\\+D800, U\\+DFFF\\)"):
        cleaned = without_lone_surrogates("ab \ud800a\udfff")
    assert cleaned == "ab \ufffda\ufffd"
    assert hand.encode(cleaned) == [12, 4, 1, 5, 1]


# --------------------------------------------------------------------------------------- bad files

BAD_MODELS = {
    "empty": ("", "line 1: the file ends where the header"),
    "truncated in the characters": ("4 7\n9601 4\n97 5\n", "line 4: the file ends where a character line"),
    "truncated in the rules": (HAND_MODEL.split("13 6 14")[0], "line 12: the file ends where a merge rule line"),
    "no special ids line": (HAND_MODEL.replace("1 0 2 3\n", ""), "line 13: the file ends where the special ids"),
    "not a number": (HAND_MODEL.replace("97 5", "97 five"), "line 3: expected a character line"),
    "too many fields": (HAND_MODEL.replace("5 5 9", "5 5 9 1"), "line 7: expected a merge rule line 'x y z' \\(3 "
                        "integers\\), got 4 fields"),
    "data after the end": (HAND_MODEL + "1 2\n", "line 14: unexpected data after the special ids line"),
    "a code point out of range": (HAND_MODEL.replace("99 7", "1114112 7"), "line 5: 1114112 is not a Unicode"),
    "a surrogate code point": (HAND_MODEL.replace("99 7", "55296 7"), "line 5: 55296 is not a Unicode"),
    "a character twice": (HAND_MODEL.replace("99 7", "98 7"), "line 5: character U\\+0062 is listed twice"),
    "an id twice": (HAND_MODEL.replace("99 7", "99 6"), "line 5: character U\\+0063 has id 6, which is given twice"),
    "an id out of range": (HAND_MODEL.replace("13 6 14", "13 6 15"), "line 12: merge rule 6 .* has id 15, outside 0..14"),
    "a rule on an unknown id": (HAND_MODEL.replace("5 5 9", "5 12 9"), "line 7: merge rule 1 \\(5 12 9\\) uses id 12"),
    "a rule on a special id": (HAND_MODEL.replace("5 5 9", "5 1 9"), "line 7: merge rule 1 \\(5 1 9\\) uses id 1"),
    "a special id twice": (HAND_MODEL.replace("1 0 2 3", "1 0 2 2"), "line 13: special token eos has id 2, which is given"),
    "no word start": (HAND_MODEL.replace("9601 4", "100 4"), "lacks the word-start character U\\+2581"),
    "a bad special id": (HAND_MODEL.replace("1 0 2 3", "1 0 2 -7"), "line 13: special ids must be -1 or ids"),
    "bad counts": ("0 0\n1 0 2 3\n", "line 1: bad counts"),
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_malformed_model_is_a_clear_error_naming_file_and_line(tmp_path, case):
    text, message = BAD_MODELS[case]
    path = write_model(tmp_path, text)
    with pytest.raises(BPEModelError, match=message) as info:
        BPE.load(path)
    assert str(path) in str(info.value)


def test_missing_or_binary_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="BPE model not found: .*absent.model"):
        BPE.load(tmp_path / "absent.model")
    path = tmp_path / "binary.model"
    path.write_bytes(b"4 7\n\xff\xfe")
    with pytest.raises(BPEModelError, match="binary.model: not a youtokentome BPE model"):
        BPE.load(path)


def test_hand_made_models_match_youtokentome(tmp_path):
    yttm = pytest.importorskip("youtokentome")
    rng = random.Random(3)
    paths = [write_model(tmp_path, HAND_MODEL, "hand.model"),
             write_model(tmp_path, "3 2\n9601 0\n97 1\n98 2\n1 2 4\n0 2 5\n3 -1 -1 -1\n", "zero.model")]
    paths += [write_model(tmp_path, random_model_text(rng, "abcd", rng.randint(5, 60)), f"r{k}.model") for k in range(10)]
    texts = ["".join(rng.choice("abcdx \t\u2581\u00a0") for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    for path in paths:
        ours, theirs = BPE.load(path), yttm.BPE(str(path))
        assert ours.vocab_size == theirs.vocab_size()
        assert [ours.id_to_subword(i) for i in range(ours.vocab_size)] == theirs.vocab()
        assert [ours.encode(t) for t in texts] == theirs.encode(texts, output_type=yttm.OutputType.ID), path.name
        ids = [[rng.randrange(ours.vocab_size) for _ in range(rng.randint(0, 8))] for _ in range(500)]
        assert [ours.decode(i) for i in ids] == theirs.decode(ids), path.name
        assert [ours.decode(i, ignore_ids=[4, 5]) for i in ids] == theirs.decode(ids, ignore_ids=[4, 5]), path.name
