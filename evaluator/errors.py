"""Every exception of the evaluator, in one leaf module (it imports nothing of the project).

The command line turns an `EvaluatorError` into one `evaluator: error: ...` line and exit status 2.
A metric that cannot be computed raises `WeightsUnavailable` or `NotComputed`; the evaluator then
reports it as not computed and never fills in a number.
"""

from __future__ import annotations


class EvaluatorError(Exception):
    """A failure the command line reports as one line (exit status 2)."""


class InputError(EvaluatorError):
    """A file given to the evaluator cannot be used at all (absent, not JSON, wrong shape, refused)."""


class SuspectedMistake(InputError):
    """The files given look like a mix-up (swapped, another set's), not a submission to score."""


class OutputError(EvaluatorError):
    """A report cannot be written (a folder in the way, no permission, a full disk)."""


class WeightsUnavailable(RuntimeError):
    """A metric's weights or data file cannot be used: not given, absent, corrupt or of another layout."""


class WeightsMismatch(WeightsUnavailable):
    """A weight file was read but its tensors do not match the expected model (names or shapes)."""


class NotComputed(Exception):
    """A metric component has no value for a reason other than weights (too few images, no --input)."""
