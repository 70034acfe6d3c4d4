"""METEOR's alignment order and the RuWordNet synonym stage (a tiny SQLite DB in the real layout)."""

import sqlite3

import pytest

from evaluator.errors import WeightsUnavailable
from evaluator.metrics.meteor import count_matches
from evaluator.metrics.ruwordnet import RuWordNetSynonyms
from evaluator.metrics.text import vqa_meteor


class FakeSynonyms:
    def __init__(self, table):
        self.table = table

    def synonyms(self, word):
        return frozenset(self.table.get(word, ()))


def test_greedy_synonym_alignment_follows_the_official_order():
    # hyp [x, y], ref [p, q]; syn(y) = {p, q}, syn(x) = {q}. The official loop starts at the LAST
    # hypothesis word y and the LAST reference word q: y-q match; then x finds q taken, p not a
    # synonym -> 1 match (an optimal alignment would find 2).
    source = FakeSynonyms({"y": {"p", "q"}, "x": {"q"}})
    assert count_matches(["x", "y"], ["p", "q"], source) == 1
    assert count_matches(["x", "y"], ["p", "q"]) == 0  # without synonyms


def test_exact_stage_counts_multiset_intersection():
    # [a, a, b] vs [a, b, b]: exact pairs a-a and b-b -> 2
    assert count_matches(["a", "a", "b"], ["a", "b", "b"]) == 2


def make_ruwordnet(path):
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE synset (id TEXT PRIMARY KEY, title TEXT, definition TEXT, part_of_speech TEXT);
        CREATE TABLE sense (id TEXT PRIMARY KEY, name TEXT, lemma TEXT, synset_id TEXT);
        CREATE TABLE hypernym_relation (hyponym_id TEXT, hypernym_id TEXT);
        CREATE TABLE derivation_relation (source_id TEXT, derivative_id TEXT);
        INSERT INTO synset VALUES ('S1', 'КОТ', '', 'N'), ('S2', 'ЖИВОТНОЕ', '', 'N'), ('S3', 'КОТЕНОК', '', 'N');
        INSERT INTO sense VALUES ('s1', 'КОТ', 'КОТ', 'S1'), ('s2', 'ЖИВОТНОЕ', 'ЖИВОТНОЕ', 'S2'),
                                 ('s3', 'КОТЕНОК', 'КОТЕНОК', 'S3');
        INSERT INTO hypernym_relation VALUES ('S1', 'S2');
        INSERT INTO derivation_relation VALUES ('s1', 's3');
        """
    )
    db.commit()
    db.close()
    return str(path)


def test_ruwordnet_synonyms_are_hypernym_titles_derivations_and_the_word(tmp_path):
    source = RuWordNetSynonyms(make_ruwordnet(tmp_path / "rwn.db"))
    assert source.synonyms("кот") == {"кот", "животное", "котенок"}
    assert source.synonyms("стол") == frozenset()  # unknown word: no synonym stage candidates


def test_vqa_meteor_uses_the_synonym_stage_only_with_a_database(tmp_path):
    source = RuWordNetSynonyms(make_ruwordnet(tmp_path / "rwn.db"))
    # hyp [кот], ref [животное]: no exact or stem match; "животное" is a hypernym title of "кот"
    assert vqa_meteor("кот", ["животное"], source) == 1.0
    assert vqa_meteor("кот", ["животное"]) == 0.0
    # the relation is directional (the hypothesis word's senses): "животное" has no hypernym "кот"
    assert vqa_meteor("животное", ["кот"], source) == 0.0


def test_missing_or_foreign_database_raises_weights_missing(tmp_path):
    with pytest.raises(WeightsUnavailable, match="not found"):
        RuWordNetSynonyms(str(tmp_path / "absent.db"))
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(WeightsUnavailable, match="missing tables"):
        RuWordNetSynonyms(str(other))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 10)
    with pytest.raises(WeightsUnavailable):
        RuWordNetSynonyms(str(garbage))
