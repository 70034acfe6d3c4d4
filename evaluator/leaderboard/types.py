"""The data model of a leaderboard (what `evaluator leaderboard --json` writes): one `TeamEntry`
per team folder, ranked ones first, and the `Board` around them with the sustainability nomination."""

from __future__ import annotations

from dataclasses import dataclass, field

from evaluator.io.team import TeamFolder
from evaluator.scoring.types import SampleRecord, ScoreReport


@dataclass
class TeamEntry:
    folder: TeamFolder  # the path the team's files are read from, and its printable label
    team: str  # the name shown: the name, told apart by its folder when names are shared
    name: str
    notes: list[str] = field(default_factory=list)
    rank: int | None = None
    error: str | None = None  # why the team is not ranked
    report: ScoreReport | None = None  # not in the JSON
    co2_kg: float | None = None
    co2_note: str | None = None  # why there is no CO2 value (rejected, absent)
    co2_notes: list[str] = field(default_factory=list)  # about a value kept: an implausible mean power
    duplicate_name: bool = False
    look_alike: bool = False  # the name reads like another team's, different one (evaluator.names)
    other_input: bool = False  # refused: its run_state.json records another input.json than --input
    sustainable: str = ""  # "WINNER", "eligible", "not eligible: <why>" or ""

    @property
    def directory(self) -> str:
        return self.folder.label

    @property
    def integral(self) -> float | None:
        return self.report.integral if self.report else None

    @property
    def partial(self) -> bool | None:
        return self.report.partial if self.report else None

    def task_score(self, name: str) -> float | None:
        return self.report.tasks[name].score if self.report and name in self.report.tasks else None

    def task_stderr(self, name: str) -> float | None:
        return self.report.tasks[name].stderr if self.report and name in self.report.tasks else None

    @property
    def missing(self) -> int | None:
        return self.report.problems.missing if self.report else None

    @property
    def malformed(self) -> int | None:
        return self.report.problems.malformed if self.report else None

    def not_computed(self, task_names: list[str]) -> list[str]:
        """The tasks of `task_names` this team has no score for."""
        return [name for name in task_names if self.report and self.task_score(name) is None]

    def to_json(self) -> dict:
        report = self.report
        return {
            "team": self.team, "name": self.name, "directory": self.directory, "rank": self.rank, "error": self.error,
            "integral": self.integral, "integral_stderr": report.integral_stderr if report else None,
            "partial": self.partial, "missing": self.missing, "malformed": self.malformed,
            "best_integral": report.best_integral if report else None,
            "tasks": {name: t.score for name, t in report.tasks.items()} if report else {},
            "task_stderr": {name: t.stderr for name, t in report.tasks.items()} if report else {},
            "thresholds": report.thresholds if report else {},
            "thresholds_summary": report.thresholds_summary if report else None,
            "prize_eligible": report.prize_eligible if report else None,
            "problems": report.problems.missing + report.problems.malformed if report else None,
            "warnings": len(report.warnings) if report else 0,
            "co2_kg": self.co2_kg, "co2_note": self.co2_note, "co2_notes": self.co2_notes,
            "sustainable": self.sustainable, "duplicate_name": self.duplicate_name, "look_alike": self.look_alike,
            "notes": self.notes,
        }


@dataclass
class Board:
    entries: list[TeamEntry]  # ranked teams by rank, then the failed ones by name
    task_names: list[str]
    baseline: float
    above_baseline: list[float]
    nomination: float | None
    sustainable_winner: str | None  # the winning entry's `team`
    rule: str
    stderr_method: str
    reference_samples: list[SampleRecord] = field(default_factory=list)  # not in the JSON (the gallery's)
    provenance: dict | None = None

    @property
    def tasks_in_set(self) -> list[str]:
        """The tasks with samples in the set (registry order): the columns every rendering shows."""
        present = {record.task for record in self.reference_samples}
        return [name for name in self.task_names if name in present]

    @property
    def best_integral(self) -> float | None:
        """The best integral possible on this set with these weights (None when no team is ranked)."""
        values = [e.report.best_integral for e in self.ranked]
        return max(values) if values else None

    def comparison_warning(self) -> str | None:
        """Why the nomination's baseline does not suit these scores: the registry's baseline is a
        full score (every task counted) and the integrals here are partial."""
        ranked = self.ranked
        best = self.best_integral
        if best is None:
            return None
        full, registry_baseline = ranked[0].report.full_integral, ranked[0].report.baseline_integral
        if best >= full or self.baseline != registry_baseline:
            return None
        return (f"the baseline {self.baseline:.2f} is a full integral score (every task counted, at most "
                f"{full:g}); on this set at most {best:.4f} is possible, so these partial scores are compared "
                "with it only loosely")

    @property
    def ranked(self) -> list[TeamEntry]:
        return [e for e in self.entries if e.error is None]

    @property
    def failed(self) -> list[TeamEntry]:
        return [e for e in self.entries if e.error is not None]

    def to_json(self) -> dict:
        out = {"entries": [e.to_json() for e in self.entries], "task_names": self.task_names,
               "baseline": self.baseline, "above_baseline": self.above_baseline, "nomination": self.nomination,
               "sustainable_winner": self.sustainable_winner, "rule": self.rule, "stderr_method": self.stderr_method,
               "tasks_in_set": self.tasks_in_set, "best_integral": self.best_integral,
               "baseline_warning": self.comparison_warning()}
        if self.provenance is not None:
            out["provenance"] = self.provenance
        return out
