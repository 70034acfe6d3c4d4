"""The time-budget guard: finish a complete ``predictions.json`` before the limit, whatever happens.

Work is measured as it runs (seconds per sample for each kind of work). Before each batch of every
phase the guard compares the remaining budget, less a reserve for the final write
(:func:`reserve_for`: 5 % of the budget, between 1 and 60 s), with the estimated cost of the
remaining work, and degrades in a fixed order until it fits:

  0 ``full``          everything as configured
  1 ``no-images``     stop generating images for text-only samples
  2 ``short-answers`` free generation limited to ``SHORT_ANSWER_TOKENS`` tokens; kept (answering
                      as many samples as time allows) unless option scoring alone no longer fits
  3 ``options-only``  only option scoring, as many samples as time allows; no more image encoding
  4 ``stop``          no time left: no more model work, write the file and end

Levels only go up. A level whose work has not been measured yet is assumed to fit. A batch starts
only if its measured cost, with a margin, fits in the time left (:meth:`Budget.fits`); batches
shrink to what still fits (:meth:`Budget.affordable`), and the first batch of a kind not yet
measured is a single sample. Image encoding, which answers
nothing by itself, may use at most ``ENCODE_SHARE`` of the time left when it starts
(:meth:`Budget.cap`); samples it does not reach are answered as text-only.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

LEVELS = ("full", "no-images", "short-answers", "options-only", "stop")
# The one cut-off table: each kind of work runs below the level named here and stops from it on.
STOPS_AT = {"image": "no-images", "generate": "options-only", "encode": "options-only", "score": "stop"}
SHORT_ANSWER_TOKENS = 8
RESERVE_SHARE, RESERVE_MIN, RESERVE_MAX = 0.05, 1.0, 60.0
ENCODE_SHARE = 0.5
BATCH_MARGIN = 1.5  # a batch starts only if 1.5 times its measured cost fits (batch times vary)


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
    """Samples still to do, by kind of work."""

    generate: int = 0  # free right-text generation
    score: int = 0  # option scoring
    image: int = 0  # image generation (+ decoding and saving)


@dataclass
class Budget:
    seconds: float
    reserve: float | None = None  # default: reserve_for(seconds)
    start: float = field(default_factory=time.monotonic)
    level: int = 0
    rates: dict = field(default_factory=dict)  # kind -> seconds per sample
    caps: dict = field(default_factory=dict)  # kind -> elapsed seconds by which it must end
    _totals: dict = field(default_factory=lambda: defaultdict(lambda: [0.0, 0]))

    def __post_init__(self):
        if self.reserve is None:
            self.reserve = reserve_for(self.seconds)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def remaining(self) -> float:
        return self.seconds - self.elapsed()

    def out_of_time(self) -> bool:
        """Nothing but the final write fits any more."""
        return self.remaining() <= self.reserve

    def record(self, kind: str, seconds: float, samples: int) -> None:
        total = self._totals[kind]
        total[0] += seconds
        total[1] += samples
        self.rates[kind] = total[0] / max(total[1], 1)

    def estimate(self, work: Remaining, level: int, full_answer_tokens: int) -> float:
        """Seconds the work left would take at ``level``: each kind still running there, at its rate
        (free generation shortened from ``short-answers`` on)."""
        cost = 0.0
        for kind in ("score", "generate", "image"):
            if runs_at(kind, level):
                rate = self.rates.get(kind, 0.0)
                if kind == "generate" and level >= LEVELS.index("short-answers"):
                    rate *= min(1.0, SHORT_ANSWER_TOKENS / max(full_answer_tokens, 1))
                cost += getattr(work, kind) * rate
        return cost

    def update(self, work: Remaining, full_answer_tokens: int) -> str:
        """Raise the level until the estimated remaining work fits (see the module docstring);
        returns the level's name. Constant time: ``work`` holds counters."""
        available = self.remaining() - self.reserve
        if available <= 0:
            self.level = LEVELS.index("stop")
        short = LEVELS.index("short-answers")
        while self.level < short and self.estimate(work, self.level, full_answer_tokens) > available:
            self.level += 1
        if self.level == short and work.score * self.rates.get("score", 0.0) > available:
            self.level = LEVELS.index("options-only")
        return LEVELS[self.level]

    def cap(self, kind: str, share: float) -> None:
        """From now on ``kind`` may use at most ``share`` of the time left (less the reserve)."""
        self.caps[kind] = self.elapsed() + share * max(0.0, self.remaining() - self.reserve)

    def affordable(self, kind: str) -> int | None:
        """How many samples of ``kind`` fit in the time left (and in its cap), at the measured rate
        times ``BATCH_MARGIN``; None while the kind is unmeasured."""
        rate = self.rates.get(kind)
        if rate is None:
            return None
        left = self.remaining() - self.reserve
        if kind in self.caps:
            left = min(left, self.caps[kind] - self.elapsed())
        if left <= 0:
            return 0
        return int(left / (rate * BATCH_MARGIN)) if rate > 0 else 1 << 62

    def fits(self, kind: str, samples: int) -> bool:
        """Whether ``samples`` more of ``kind`` fit (see :meth:`affordable`)."""
        affordable = self.affordable(kind)
        return affordable is None or samples <= affordable

    @property
    def name(self) -> str:
        return LEVELS[self.level]

    def allows(self, kind: str) -> bool:
        return runs_at(kind, self.level)

    def answer_tokens(self, configured: int) -> int:
        return min(configured, SHORT_ANSWER_TOKENS) if self.level >= LEVELS.index("short-answers") else configured
