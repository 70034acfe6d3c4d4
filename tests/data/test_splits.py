from __future__ import annotations

import hashlib
from itertools import combinations

import pytest

from synthetic_fbc2 import SPLITS, content_bucket, generate_samples, generate_split
from synthetic_fbc2.sample import IMAGE

from .conftest import PER_TASK


def _content(sample) -> set[str]:
    """What a split could leak: the content key, the passage / equation / caption texts and the
    bytes of every image. (Short answers such as "да" or "2" necessarily recur across splits.)"""
    out = {"key:" + sample.meta["key"]}
    for item in sample.items:
        if item.type == IMAGE:
            out.add("img:" + hashlib.sha256(item.content.tobytes()).hexdigest())
    for field in ("passage", "statement", "caption"):  # TextQA, MathQA, ImageGeneration
        if field in sample.meta:
            out.add("text:" + sample.meta[field])
    if sample.gold_image is not None:
        out.add("gold:" + hashlib.sha256(sample.gold_image.tobytes()).hexdigest())
    return out


def test_split_buckets_are_disjoint():
    """Content pools never overlap; the test split draws from the held-out pool with its own seed."""
    pools = {s.buckets for s in SPLITS.values()}
    for a, b in combinations(pools, 2):
        assert not set(a) & set(b)
    assert set().union(*pools) == set(range(10))
    assert SPLITS["test"].buckets == SPLITS["heldout"].buckets
    assert len({s.seed for s in SPLITS.values()}) == len(SPLITS)


def test_test_split_is_a_new_draw_disjoint_from_training():
    """The test split shares no content with train or sample, and no image or sample with the
    held-out draw (small contents such as one-shape scenes may recur: the pool holds ~50 of them)."""
    test = generate_split("test", 10)
    train, held = generate_split("train", 10), generate_split("heldout", 10)
    seen_test = set().union(*(_content(s) for s in test))
    assert not seen_test & set().union(*(_content(s) for s in train))
    images = {x for x in seen_test if not x.startswith(("key:", "text:"))}
    assert len(images) == 40  # 10 per image task (VisualQA, captioning, TRitW, generation gold)
    assert not images & set().union(*(_content(s) for s in held))
    same_key = sum(a.meta["key"] == b.meta["key"] for a, b in zip(test, held, strict=True))
    assert same_key <= 3


def test_splits_have_requested_sizes(split_samples):
    for split, n in PER_TASK.items():
        samples = split_samples(split)
        assert len(samples) == 6 * n
        pairs = {(s.task, s.meta["key"]) for s in samples}
        assert len(pairs) == len(samples), f"{split} repeats a content within a task"


@pytest.mark.parametrize("a,b", [("train", "heldout"), ("train", "sample"), ("heldout", "sample")])  # test: below
def test_splits_do_not_overlap(split_samples, a, b):
    seen_a = set().union(*(_content(s) for s in split_samples(a)))
    seen_b = set().union(*(_content(s) for s in split_samples(b)))
    assert len(seen_a) > 4 * len(split_samples(a)) / 2  # keys, texts and images all collected
    assert not seen_a & seen_b


def test_every_sample_lies_in_its_split_buckets(split_samples):
    for split in PER_TASK:
        for s in split_samples(split):
            assert content_bucket(s.meta["key"]) in SPLITS[split].buckets


def test_without_split_nothing_is_filtered():
    keys = [s.meta["key"] for s in generate_samples("MathQA", 40, seed=3)]
    assert {content_bucket(k) for k in keys} - set(SPLITS["train"].buckets), "expected eval buckets too"


def test_same_seed_different_split_is_still_disjoint():
    train = {s.meta["key"] for s in generate_samples("TextQA", 40, seed=11, split="train")}
    held = {s.meta["key"] for s in generate_samples("TextQA", 40, seed=11, split="heldout")}
    assert train and held and not train & held


@pytest.mark.parametrize("task", ["TextQA", "ImageCaptioning", "TRitW"])
def test_split_keys_are_the_keys_of_the_samples(task):
    from synthetic_fbc2.synthetic import split_keys

    assert split_keys(task, 25, 3, "train") == [s.meta["key"] for s in generate_samples(task, 25, 3, split="train")]
