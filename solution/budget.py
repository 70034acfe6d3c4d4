"""The time-budget guard: finish a complete ``predictions.json`` before the limit, whatever happens.

**What is measured.** Every batch of every kind of work (``encode``, ``score``, ``generate``,
``image``) reports its rows and wall time and, for the decoding kinds, how many decode steps it ran
and how long they took (a :class:`BatchMeter` driven by the sampler's per-token callback; on a GPU
it waits for the device once, at the first step). From these the guard keeps, per kind:

- seconds per row of the work done once per row: prefill, option scoring, VQGAN encoding and
  decoding, saving (the batch's time less its decode steps);
- seconds per decode step at each row count that has run;
- decode steps per batch (the mean of the batches run).

Extra candidates (``--image-candidates N``, ``--answer-candidates N``: self-reranking) are kinds of
work of their own, ``image_candidates`` and ``answer_candidates``, measured in the same model: each
candidate pass over a batch of ``r`` rows (its generation, then its scoring, and in the first pass
the scoring of candidate 0) is metered as one batch of ``r`` rows of that kind, and kept out of the
batch it belongs to (:meth:`BatchMeter.exclude`). The work left of such a kind counts candidate rows,
``samples x (N - 1)``. Until one pass has run, a kind of candidates is costed at the rates of the
work it repeats (``CANDIDATES_OF``: image generation, free answer generation).

One-off costs (capture and kernel timing of a new CUDA-graph step shape, the model's first-call
warm-up) are paid before the batch that needs them, only while one more fits at their mean so far
(:meth:`Budget.affords_one_off`; a batch whose one-offs do not fit does not run either), and timed
apart (:meth:`Budget.one_off`): reported, never folded into a rate; the batch's question then sees
the time they took.

**How a batch is costed.** ``cost(kind, r) = per_row * r + steps * step(r)``, where ``step(r)`` is
the step time measured at ``r`` rows, interpolated linearly between two measured row counts, the
smallest one's below them (a smaller batch is not slower per step) and in proportion to the rows
above the largest (pessimistic). ``n`` samples left of a kind cost ``n // B`` batches of ``B`` (the
batch size) plus one of ``n % B``. A kind not measured yet is assumed to fit; its first batch is a
real batch of ``B`` rows when at least ``FULL_FIRST_BATCH`` seconds are left, else one sample (an
unknown cost then overruns by one sample at most).

**How it degrades.** Before each batch of every phase the guard answers one question,
:meth:`Budget.grant`: how many rows of this kind may run now. It compares the remaining budget, less
a reserve for the final write (:func:`reserve_for`: 5 % of the budget, between 1 and 60 s), with the
estimated cost of the remaining work, and degrades in a fixed order until it fits:

  0 ``full``          everything as configured
  1 ``one-candidate`` no more extra candidates: every image and answer is candidate 0 alone, as
                      with N = 1 (the first thing to go)
  2 ``no-images``     stop generating images for text-only samples
  3 ``short-answers`` free generation limited to ``SHORT_ANSWER_TOKENS`` tokens; kept (answering
                      as many samples as time allows) unless option scoring alone no longer fits
  4 ``options-only``  only option scoring, as many samples as time allows; no more image encoding
  5 ``stop``          no time left: no more model work, write the file and end

Levels only go up (``STOPS_AT`` is the one cut-off table). A batch runs only if its estimated cost,
times ``BATCH_MARGIN``, fits in the time left; batches shrink to what still fits, and once none
fits the rest of that kind is skipped (a batch's candidate passes too: each runs only while one more
pass of its rows fits). Image encoding, which answers nothing by itself, may use at
most ``ENCODE_SHARE`` of the time left when it starts (:meth:`Budget.set_deadline`); samples it does
not reach are answered as text-only.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

LEVELS = ("full", "one-candidate", "no-images", "short-answers", "options-only", "stop")
# The one cut-off table: each kind of work runs below the level named here and stops from it on.
STOPS_AT = {"image_candidates": "one-candidate", "answer_candidates": "one-candidate", "image": "no-images",
            "generate": "options-only", "encode": "options-only", "score": "stop"}
# A kind of extra candidates, until measured, is costed at the rates of the work it repeats.
CANDIDATES_OF = {"image_candidates": "image", "answer_candidates": "generate"}
SHORT_ANSWER_TOKENS = 8
RESERVE_SHARE, RESERVE_MIN, RESERVE_MAX = 0.05, 1.0, 60.0
ENCODE_SHARE = 0.5
BATCH_MARGIN = 1.5  # a batch starts only if 1.5 times its estimated cost fits (batch times vary)
FULL_FIRST_BATCH = 1800.0  # seconds left from which an unmeasured kind starts with a full batch


def reserve_for(seconds: float) -> float:
    """Seconds kept back from a budget for the final write: 5 %, at least 1 s, at most 60 s."""
    return min(RESERVE_MAX, max(RESERVE_MIN, RESERVE_SHARE * seconds))


def runs_at(kind: str, level: int) -> bool:
    """Whether ``kind`` of work still runs at ``level`` (``STOPS_AT``)."""
    if kind not in STOPS_AT:
        raise ValueError(f"unknown kind of work {kind!r}; expected one of {sorted(STOPS_AT)}")
    return level < LEVELS.index(STOPS_AT[kind])


@dataclass
class Remaining:
    """Samples still to do, by kind of work (image encoding is bounded by its deadline instead)."""

    generate: int = 0  # free right-text generation
    score: int = 0  # option scoring
    image: int = 0  # image generation (+ decoding and saving)
    image_candidates: int = 0  # extra image candidates (rows of candidate passes: samples x (N - 1))
    answer_candidates: int = 0  # extra answer candidates (likewise)

    def count_off(self, kind: str, samples: int) -> None:
        """``samples`` of ``kind`` are behind us (done, failed or skipped)."""
        if kind in vars(self):
            setattr(self, kind, getattr(self, kind) - samples)


class BatchMeter:
    """Times one batch from its creation: ``step(i)`` is the sampler's per-token callback; the first
    step (``i == 0``) is when the prefill has given its logits (``sync`` waits for the device there),
    later ones count decode steps."""

    def __init__(self, clock: Callable[[], float], sync: Callable[[], None] | None = None):
        self.clock, self.sync = clock, sync
        self.start = clock()
        self.first_step_at: float | None = None
        self.steps = 0
        self.excluded = 0.0  # seconds after the first step spent on other work, metered apart

    def exclude(self, seconds: float) -> None:
        """``seconds`` of this batch (after its first step) belong to other work, metered apart
        (the batch's extra candidates): they count neither as its steps nor as its rows."""
        self.excluded += seconds

    def step(self, i: int) -> None:
        if i == 0 and self.first_step_at is None:
            if self.sync is not None:
                self.sync()
            self.first_step_at = self.clock()
        elif i > 0:
            self.steps += 1

    def seconds(self) -> tuple[float, float]:
        """(seconds since the start, seconds since the first step: the decode steps' share)."""
        now = self.clock() - self.excluded
        return now - self.start, (now - self.first_step_at) if self.first_step_at is not None else 0.0


@dataclass
class KindCost:
    """What one kind of work has cost so far (see the module docstring)."""

    row_seconds: float = 0.0
    rows: int = 0
    step_seconds: dict = field(default_factory=lambda: defaultdict(float))  # rows -> seconds of its steps
    step_count: dict = field(default_factory=lambda: defaultdict(int))  # rows -> decode steps run
    steps: int = 0  # decode steps of every batch
    batches: int = 0

    def add(self, rows: int, seconds: float, steps: int, step_seconds: float) -> None:
        self.row_seconds += max(0.0, seconds - step_seconds)
        self.rows += rows
        self.batches += 1
        if steps:
            self.steps += steps
            self.step_seconds[rows] += step_seconds
            self.step_count[rows] += steps

    @property
    def per_row(self) -> float:
        return self.row_seconds / max(self.rows, 1)

    @property
    def mean_steps(self) -> float:
        return self.steps / max(self.batches, 1)

    def step_time(self, rows: int) -> float:
        """Seconds per decode step at ``rows`` rows (see the module docstring); 0 with no steps run."""
        known = sorted((r, self.step_seconds[r] / self.step_count[r]) for r in self.step_count)
        if not known:
            return 0.0
        if rows <= known[0][0]:
            return known[0][1]
        for (r0, t0), (r1, t1) in itertools.pairwise(known):
            if rows <= r1:
                return t0 + (t1 - t0) * (rows - r0) / (r1 - r0)
        top, t = known[-1]
        return t * rows / top

    def batch(self, rows: int, steps: float | None = None) -> float:
        """Estimated seconds of one batch of ``rows`` (``steps`` decode steps, default the mean)."""
        if rows <= 0:
            return 0.0
        steps = self.mean_steps if steps is None else steps
        return self.per_row * rows + steps * self.step_time(rows)


@dataclass
class Budget:
    seconds: float
    reserve: float | None = None  # default: reserve_for(seconds)
    start: float | None = None  # default: the clock now
    clock: Callable[[], float] = time.monotonic
    batch_size: int = 1  # rows of a full batch (the pipeline sets it)
    level: int = 0
    costs: dict = field(default_factory=dict)  # kind -> KindCost
    deadlines: dict = field(default_factory=dict)  # kind -> elapsed seconds by which it must end
    one_offs: dict = field(default_factory=lambda: defaultdict(float))  # what -> seconds (never a rate)
    one_off_counts: dict = field(default_factory=lambda: defaultdict(int))  # what -> times paid

    def __post_init__(self):
        if self.reserve is None:
            self.reserve = reserve_for(self.seconds)
        if self.start is None:
            self.start = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def remaining(self) -> float:
        return self.seconds - self.elapsed()

    def out_of_time(self) -> bool:
        """Nothing but the final write fits any more."""
        return self.remaining() <= self.reserve

    # -- measurements ---------------------------------------------------------------------------
    def meter(self, sync: Callable[[], None] | None = None) -> BatchMeter:
        """A meter for the next batch, on this budget's clock."""
        return BatchMeter(self.clock, sync)

    def record(self, kind: str, seconds: float, rows: int, steps: int = 0, step_seconds: float = 0.0) -> None:
        """One batch of ``kind``: ``rows`` rows in ``seconds``, of which ``step_seconds`` in ``steps``
        decode steps."""
        self.costs.setdefault(kind, KindCost()).add(rows, seconds, steps, step_seconds)

    def record_meter(self, kind: str, rows: int, meter: BatchMeter) -> float:
        """:meth:`record` of what ``meter`` measured; returns the batch's seconds."""
        seconds, step_seconds = meter.seconds()
        self.record(kind, seconds, rows, meter.steps, step_seconds)
        return seconds

    def one_off(self, what: str, seconds: float) -> None:
        """A cost paid once (capture, kernel timing, warm-up): reported, never a rate."""
        self.one_offs[what] += seconds
        self.one_off_counts[what] += 1

    def affords_one_off(self, kind: str, what: str) -> bool:
        """Whether one more ``what`` for ``kind`` fits in :meth:`time_for`, at its mean so far (one
        never paid yet: at the mean of every one-off paid so far, 0 before the first)."""
        paid = self.one_off_counts.get(what, 0)
        if paid:
            expected = self.one_offs[what] / paid
        else:
            count = sum(self.one_off_counts.values())
            expected = sum(self.one_offs.values()) / count if count else 0.0
        return self.time_for(kind) > expected

    def measured(self, kind: str) -> bool:
        return kind in self.costs

    def cost_of(self, kind: str) -> KindCost | None:
        """What ``kind`` has cost so far; for extra candidates not measured yet, the work they repeat
        (``CANDIDATES_OF``); None when nothing is known."""
        if kind in self.costs:
            return self.costs[kind]
        return self.costs.get(CANDIDATES_OF.get(kind, kind))

    # -- estimates ------------------------------------------------------------------------------
    def _steps_at(self, kind: str, level: int) -> float:
        steps = self.cost_of(kind).mean_steps
        if kind == "generate" and level >= LEVELS.index("short-answers"):
            steps = min(steps, SHORT_ANSWER_TOKENS)
        return steps

    def batch_cost(self, kind: str, rows: int, level: int | None = None) -> float:
        """Estimated seconds of one batch of ``rows`` of ``kind`` at ``level`` (default: the current)."""
        if self.cost_of(kind) is None:
            return 0.0
        level = self.level if level is None else level
        return self.cost_of(kind).batch(rows, self._steps_at(kind, level))

    def work_cost(self, kind: str, samples: int, level: int | None = None) -> float:
        """Estimated seconds of ``samples`` of ``kind``: full batches and one smaller one."""
        full, rest = divmod(max(samples, 0), max(self.batch_size, 1))
        return full * self.batch_cost(kind, self.batch_size, level) + self.batch_cost(kind, rest, level)

    def estimate(self, work: Remaining, level: int) -> float:
        """Seconds the work left would take at ``level``: each kind still running there."""
        return sum(self.work_cost(kind, getattr(work, kind), level) for kind in vars(work) if runs_at(kind, level))

    def update(self, work: Remaining) -> str:
        """Raise the level until the estimated remaining work fits (see the module docstring);
        returns the level's name. Constant time: ``work`` holds counters."""
        available = self.remaining() - self.reserve
        if available <= 0:
            self.level = LEVELS.index("stop")
        short = LEVELS.index("short-answers")
        while self.level < short and self.estimate(work, self.level) > available:
            self.level += 1
        if self.level == short and self.work_cost("score", work.score) > available:
            self.level = LEVELS.index("options-only")
        return LEVELS[self.level]

    def set_deadline(self, kind: str, share: float) -> None:
        """From now on ``kind`` may use at most ``share`` of the time left (less the reserve)."""
        self.deadlines[kind] = self.elapsed() + share * max(0.0, self.remaining() - self.reserve)

    def time_for(self, kind: str) -> float:
        """Seconds ``kind`` may still use: the time left less the reserve, and its deadline."""
        left = self.remaining() - self.reserve
        if kind in self.deadlines:
            left = min(left, self.deadlines[kind] - self.elapsed())
        return left

    def affordable(self, kind: str, wanted: int) -> int:
        """The most rows, up to ``wanted``, of one batch of ``kind`` whose estimated cost times
        ``BATCH_MARGIN`` fits in :meth:`time_for`; the first-batch rule while unmeasured."""
        left = self.time_for(kind)
        if left <= 0:
            return 0
        if self.cost_of(kind) is None:
            return wanted if left >= FULL_FIRST_BATCH else min(wanted, 1)
        for rows in range(wanted, 0, -1):
            if self.batch_cost(kind, rows) * BATCH_MARGIN <= left:
                return rows
        return 0

    def grant(self, kind: str, wanted: int, work: Remaining) -> int:
        """The one question before every batch: how many of ``wanted`` rows of ``kind`` may run now
        (0: none, and none of that kind later either). Updates the level from ``work`` first."""
        self.update(work)
        return self.affordable(kind, wanted) if self.allows(kind) else 0

    @property
    def name(self) -> str:
        return LEVELS[self.level]

    def allows(self, kind: str) -> bool:
        return runs_at(kind, self.level)

    def answer_tokens(self, configured: int) -> int:
        return min(configured, SHORT_ANSWER_TOKENS) if self.level >= LEVELS.index("short-answers") else configured
