"""Standard errors of task scores: a seeded bootstrap over the samples of a task.

With 20-50 samples per task a score moves by several hundredths when a few samples change, so
every table prints `score ± stderr` (as lm-evaluation-harness does). The stderr of a task is the
standard deviation of its mean over `RESAMPLES` resamples with replacement of its per-sample
values (numpy's default_rng seeded with `SEED`, so a report is reproducible). Which values a task
score is the mean of is declared by its metric (`sample_values` in evaluator.metrics.task_metrics);
ImageGeneration has none: FID is a statistic of the whole image set, not a mean over samples.
"""

from __future__ import annotations

import math

RESAMPLES = 1000
SEED = 0
CHUNK = 100  # resamples drawn at a time (bounds memory for large tasks)
METHOD = f"bootstrap over samples, {RESAMPLES} resamples, numpy default_rng seed {SEED}"


def bootstrap_stderr(values: list[float], resamples: int = RESAMPLES, seed: int = SEED) -> float | None:
    """Standard deviation (ddof 1) of the resampled means; None for fewer than 2 values."""
    import numpy as np  # third-party; importing it costs start-up time only when a stderr is computed

    if len(values) < 2:
        return None
    if min(values) == max(values):
        return 0.0  # every resample has the same mean
    data = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = []
    for start in range(0, resamples, CHUNK):
        count = min(CHUNK, resamples - start)
        means.append(data[rng.integers(0, len(data), size=(count, len(data)))].mean(axis=1))
    return float(np.concatenate(means).std(ddof=1))


def combined_stderr(weighted: list[tuple[float, float]]) -> float | None:
    """sqrt(sum (weight * stderr)^2): the stderr of a weighted sum of independent task scores
    (None when no task has a stderr)."""
    if not weighted:
        return None
    return math.sqrt(sum((w * se) ** 2 for w, se in weighted))
