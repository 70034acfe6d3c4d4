"""The data model of a score report (what `evaluator score --json` writes).

A `ScoreReport` holds one `TaskScore` per task of the registry, the integral score and its parts,
the per-sample problems and warnings, the non-official extras and, outside the JSON, one
`SampleRecord` per scored sample (its prediction, golds and scores: the per-sample log and the
HTML gallery). `to_json()` gives the report's JSON object; its keys are the report's contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evaluator.io.items import MISSING, Problem


@dataclass
class TaskScore:
    name: str
    id: int
    kind: str  # "open" or "hidden"
    metric: str | None
    n: int  # samples of this task in the set
    threshold: float | None
    baseline: float | None
    score: float | None = None  # None: not computed (never filled in)
    missing: int = 0
    malformed: int = 0
    components: dict = field(default_factory=dict)
    not_computed: list[str] = field(default_factory=list)
    passes_threshold: bool | None = None
    stderr: float | None = None
    stderr_note: str | None = None
    per_sample: dict = field(default_factory=dict)  # {component: {sample id: value}}

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "metric": self.metric, "score": self.score, "n": self.n,
                "missing": self.missing, "malformed": self.malformed, "components": self.components,
                "not_computed": self.not_computed, "threshold": self.threshold,
                "passes_threshold": self.passes_threshold, "baseline": self.baseline, "stderr": self.stderr,
                "stderr_note": self.stderr_note, "per_sample": self.per_sample}


@dataclass(frozen=True)
class SampleRecord:
    """One scored sample: what was predicted, what was expected, what it scored."""

    task: str
    sample_id: str
    output: str  # "text" or "image"
    prediction: str | None  # the answer of a text task, the image file of an image task
    golds: list[str] | None  # text tasks
    gold_image: str | None  # image tasks: the ground-truth image file
    prompt: str | None  # the ImageGeneration caption from the input
    scores: dict[str, float]  # component -> this sample's value
    problem: str | None  # "kind: detail" when the prediction could not be used

    @property
    def image_path(self) -> str | None:
        return self.prediction if self.output == "image" else None

    def to_json(self) -> dict:
        return {"task": self.task, "id": self.sample_id, "prediction": self.prediction, "golds": self.golds,
                "gold_image": self.gold_image, "prompt": self.prompt, "scores": self.scores,
                "problem": self.problem}


@dataclass
class Problems:
    samples: list[Problem]

    @property
    def missing(self) -> int:
        return sum(p.kind == MISSING for p in self.samples)

    @property
    def malformed(self) -> int:
        return len(self.samples) - self.missing

    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for problem in self.samples:
            counts[problem.kind] = counts.get(problem.kind, 0) + 1
        return dict(sorted(counts.items()))

    def to_json(self) -> dict:
        return {"missing": self.missing, "malformed": self.malformed, "by_kind": self.by_kind(),
                "samples": [p.to_json() for p in self.samples]}


@dataclass
class ScoreReport:
    tasks: dict[str, TaskScore]  # registry order
    integral: float
    integral_stderr: float | None
    stderr_method: str
    partial: bool  # some task with samples has no score (it counts 0)
    integral_note: str
    absent_tasks: list[str]  # tasks without samples in the set (they count 0)
    not_computed: list[str]  # "task: reason" for tasks with samples
    thresholds: dict[str, bool | None]  # open task -> passes its prize threshold (None: not computed)
    thresholds_summary: str
    prize_eligible: bool | None
    baseline_integral: float
    synonym_stage: str
    problems: Problems
    warnings: list[str]
    extras_note: str
    extras: dict[str, dict[str, float]]  # task -> non-official measure -> value
    differences_from_official: list[str]
    samples: list[SampleRecord] = field(default_factory=list)  # not in the JSON (see --log-samples)
    co2: dict | None = None
    provenance: dict | None = None

    def to_json(self) -> dict:
        out = {"tasks": {name: task.to_json() for name, task in self.tasks.items()}, "integral": self.integral,
               "integral_stderr": self.integral_stderr, "stderr_method": self.stderr_method, "partial": self.partial,
               "integral_note": self.integral_note, "absent_tasks": self.absent_tasks,
               "not_computed": self.not_computed, "thresholds": self.thresholds,
               "thresholds_summary": self.thresholds_summary, "prize_eligible": self.prize_eligible,
               "baseline_integral": self.baseline_integral, "synonym_stage": self.synonym_stage,
               "problems": self.problems.to_json(), "warnings": self.warnings,
               "extras": {"non_official": True, "note": self.extras_note, "tasks": self.extras},
               "differences_from_official": self.differences_from_official}
        if self.co2 is not None:
            out["co2"] = self.co2
        if self.provenance is not None:
            out["provenance"] = self.provenance
        return out
