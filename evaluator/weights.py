"""Errors shared by the evaluator's weight loaders (ruCLIP, FID InceptionV3, RuWordNet)."""


class WeightsMissing(RuntimeError):
    """A metric needs a local weight or data file that was not given or does not exist.

    The evaluator catches this, marks the metric "not computed" and the task score null;
    it never substitutes a number.
    """


class WeightsMismatch(WeightsMissing):
    """A weight file exists but does not match the expected layout (missing/unexpected keys, shapes).

    A subclass of WeightsMissing so that the evaluator reports the metric as not computed.
    """
