"""Deterministic synthetic FBC2 data: ``generate_samples`` per task and ``generate_split``.

Determinism: candidate ``j`` of task ``T`` under seed ``s`` is drawn from
``random.Random(f"fbc2:{T}:{s}:{j}")`` (string seeds hash with SHA-512, independent of
PYTHONHASHSEED), so a sample depends only on (task, seed, index) and a longer list starts with the
shorter one.

Splits never share content: every sample has a content key (TextQA: the passage; MathQA: the
equation(s) independent of wording; shape tasks: the scene as a caption can state it; TRitW: the
text with its rendering style). ``content_bucket(key)`` (SHA-256 mod 10) assigns each key to one
split: heldout 0-1, sample 2, train 3-9. A split keeps only candidates whose key falls in its
buckets and drops repeated keys, so train, heldout and sample are disjoint by construction whatever
their sizes; their seeds differ too, so they are different draws.

``test`` is another draw (seed 9001) from the held-out buckets: disjoint from train and sample by
construction, and used for nothing but the reported quality table. No recipe, checkpoint, threshold
or reader calibration was chosen on it (those used ``heldout``, seed 7001, and its other seeds such
as 7002). It shares the held-out content pool, so small contents recur between the two draws
(there are only about 50 one-shape scenes in those buckets), but its images and samples are new.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

from .sample import SyntheticSample
from .tasks import TASKS, TaskSpec


@dataclass(frozen=True)
class Split:
    seed: int
    buckets: tuple[int, ...]


SPLITS: dict[str, Split] = {
    "heldout": Split(seed=7001, buckets=(0, 1)),  # development: choices are made here
    "test": Split(seed=9001, buckets=(0, 1)),  # the reported figures only (see the module docstring)
    "sample": Split(seed=2022, buckets=(2,)),
    "train": Split(seed=1, buckets=(3, 4, 5, 6, 7, 8, 9)),
}
N_BUCKETS = 10
MAX_TRIES_PER_SAMPLE = 200


def content_bucket(key: str) -> int:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:12], 16) % N_BUCKETS


def task_spec(task: str) -> TaskSpec:
    try:
        return TASKS[task]
    except KeyError:
        raise KeyError(f"unknown task {task!r}; known: {', '.join(TASKS)}") from None


def iter_samples(task: str, n: int, seed: int, split: str | None = None) -> Iterator[SyntheticSample]:
    """Yield the samples of ``generate_samples`` one by one (for large training sets)."""
    spec = task_spec(task)
    buckets = SPLITS[split].buckets if split is not None else None
    seen: set[str] = set()

    def accept(key: str) -> bool:
        return buckets is None or (content_bucket(key) in buckets and key not in seen)

    made, j = 0, 0
    while made < n:
        if j > MAX_TRIES_PER_SAMPLE * (n + 10):
            raise RuntimeError(f"{task}: could not find {n} distinct samples for split {split!r}")
        rng = random.Random(f"fbc2:{task}:{seed}:{j}")
        j += 1
        sample = spec.make(rng, spec.layouts[made % len(spec.layouts)], accept)
        if sample is None:
            continue
        if buckets is not None:
            seen.add(sample.meta["key"])
        made += 1
        yield sample


def split_keys(task: str, n: int, seed: int, split: str) -> list[str]:
    """The content keys of ``generate_samples(task, n, seed, split)``, in order, without drawing a
    sample: a generator draws its content and asks ``accept`` before anything else, so refusing
    every candidate yields each candidate's key at the cost of its text alone."""
    spec, buckets = task_spec(task), SPLITS[split].buckets
    keys: list[str] = []
    seen: set[str] = set()
    asked: list[str] = []

    def refuse(key: str) -> bool:
        asked.append(key)
        return False

    j = 0
    while len(keys) < n:
        if j > MAX_TRIES_PER_SAMPLE * (n + 10):
            raise RuntimeError(f"{task}: could not find {n} distinct samples for split {split!r}")
        asked.clear()
        spec.make(random.Random(f"fbc2:{task}:{seed}:{j}"), spec.layouts[len(keys) % len(spec.layouts)], refuse)
        j += 1
        if content_bucket(asked[0]) in buckets and asked[0] not in seen:
            seen.add(asked[0])
            keys.append(asked[0])
    return keys


def generate_samples(task: str, n: int, seed: int, split: str | None = None) -> list[SyntheticSample]:
    """``n`` samples of ``task`` (an FBC2 open task name). With ``split`` only contents of that
    split's buckets are kept and repeated contents are dropped; without, every candidate is kept.
    Instruction layouts cycle through the task's layouts, so each occurs once ``n`` >= their count.
    """
    return list(iter_samples(task, n, seed, split))


def iter_split(split: str, per_task: int, seed: int | None = None,
               tasks: list[str] | None = None) -> Iterator[SyntheticSample]:
    """Yield the samples of ``generate_split`` one by one, task after task."""
    if split not in SPLITS:
        raise KeyError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    seed = SPLITS[split].seed if seed is None else seed
    for task in tasks or list(TASKS):
        yield from iter_samples(task, per_task, seed, split=split)


def generate_split(split: str, per_task: int, seed: int | None = None,
                   tasks: list[str] | None = None) -> list[SyntheticSample]:
    """``per_task`` samples of every task (registry order) for ``split`` ("train", "heldout",
    "test", "sample"), with the split's own seed unless ``seed`` is given."""
    return list(iter_split(split, per_task, seed, tasks))
