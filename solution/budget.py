"""The time-budget guard: finish a complete ``predictions.json`` before the limit, whatever happens.

Work is measured as it runs (seconds per sample for each kind of work). Before each batch of every
phase (image encoding included) the guard compares the remaining budget, less a reserve for the final
write (:func:`reserve_for`: 5 % of the budget, between 1 and 60 s), with the estimated cost of the
remaining work, and degrades in a fixed order until it fits:

  0 ``full``          everything as configured
  1 ``no-images``     stop generating images for text-only samples
  2 ``short-answers`` free generation limited to ``SHORT_ANSWER_TOKENS`` tokens
  3 ``options-only``  only option scoring; samples without options keep the placeholder answer
  4 ``stop``          no more model work (no encoding either): write the file and end

Levels only go up. A level whose work has not been measured yet is assumed to fit.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

LEVELS = ("full", "no-images", "short-answers", "options-only", "stop")
SHORT_ANSWER_TOKENS = 8
RESERVE_SHARE, RESERVE_MIN, RESERVE_MAX = 0.05, 1.0, 60.0


def reserve_for(seconds: float) -> float:
    """Seconds kept back from a budget for the final write: 5 %, at least 1 s, at most 60 s."""
    return min(RESERVE_MAX, max(RESERVE_MIN, RESERVE_SHARE * seconds))


@dataclass
class Remaining:
    """Samples still to do, by kind of work."""

    generate: int = 0  # free right-text generation
    score: int = 0  # option scoring
    image: int = 0  # image generation (+ decoding and saving)
    encode: int = 0  # input images read and encoded by the VQGAN


@dataclass
class Budget:
    seconds: float
    reserve: float | None = None  # default: reserve_for(seconds)
    start: float = field(default_factory=time.monotonic)
    level: int = 0
    rates: dict = field(default_factory=dict)  # kind -> seconds per sample
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
        if level >= LEVELS.index("stop"):
            return 0.0
        cost = work.score * self.rates.get("score", 0.0) + work.encode * self.rates.get("encode", 0.0)
        if level < LEVELS.index("options-only"):
            rate = self.rates.get("generate", 0.0)
            if level >= LEVELS.index("short-answers"):
                rate *= min(1.0, SHORT_ANSWER_TOKENS / max(full_answer_tokens, 1))
            cost += work.generate * rate
        if level < LEVELS.index("no-images"):
            cost += work.image * self.rates.get("image", 0.0)
        return cost

    def update(self, work: Remaining, full_answer_tokens: int) -> str:
        """Raise the level until the estimated remaining work fits; returns the level's name."""
        available = self.remaining() - self.reserve
        while self.level < len(LEVELS) - 1 and (available <= 0 or
                                                 self.estimate(work, self.level, full_answer_tokens) > available):
            self.level += 1
        return LEVELS[self.level]

    @property
    def name(self) -> str:
        return LEVELS[self.level]

    def allows(self, kind: str) -> bool:
        if kind == "image":
            return self.level < LEVELS.index("no-images")
        if kind == "generate":
            return self.level < LEVELS.index("options-only")
        if kind in ("score", "encode"):
            return self.level < LEVELS.index("stop")
        raise ValueError(kind)

    def answer_tokens(self, configured: int) -> int:
        return min(configured, SHORT_ANSWER_TOKENS) if self.level >= LEVELS.index("short-answers") else configured
