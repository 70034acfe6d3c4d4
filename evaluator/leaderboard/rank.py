"""A local leaderboard over several teams' outputs, with the sustainability nomination.

Each team folder (see evaluator.io.team) is scored in isolation: whatever goes wrong with one
team (an unreadable or hostile file, a mix-up the sanity checks catch, even an evaluator bug)
becomes that team's error row, which is not ranked and is listed after the ranked teams. Teams
sharing a name are told apart by their folder and flagged.

Sustainability ("The Most Sustainable Solution"): M = the integral scores strictly above the
baseline (the registry's `baseline_integral` by default); nomination = mean(M) + std(M)
(population std, numpy's default); among submissions strictly above the nomination, the lowest
CO2 (the last TargetValue row of its emission.csv; it must be a finite number, not negative) wins.
"""

from __future__ import annotations

import os
import statistics
from collections import Counter

from evaluator.co2 import target_value_co2
from evaluator.errors import InputError
from evaluator.io.display import clean_text
from evaluator.io.reference import Reference, load_reference
from evaluator.io.team import folder_label, open_team_folder, read_team_predictions
from evaluator.leaderboard.types import Board, TeamEntry
from evaluator.options import ScoreOptions
from evaluator.scoring.score import reference_records, score_predictions
from evaluator.tasks import Registry

RULE = ("nomination = mean + std (population) of integral scores above the baseline; "
        "lowest CO2 among submissions above the nomination wins")
STDERR_METHOD = "bootstrap over samples, seeded (see evaluator.metrics.standard_error)"


def nomination_threshold(integrals: list[float], baseline: float) -> tuple[float | None, list[float]]:
    """(mean + population std of the scores strictly above `baseline`, those scores); None if none."""
    above = [s for s in integrals if s is not None and s > baseline]
    if not above:
        return None, above
    return statistics.fmean(above) + statistics.pstdev(above), above


def sustainable_winner(entries: list[TeamEntry], nomination: float | None) -> TeamEntry | None:
    """The entry with the lowest CO2 among those strictly above the nomination with a known CO2."""
    if nomination is None:
        return None
    eligible = [e for e in entries if e.integral is not None and e.integral > nomination and e.co2_kg is not None]
    return min(eligible, key=lambda e: e.co2_kg) if eligible else None


def _failure(error: BaseException) -> str:
    if isinstance(error, InputError):
        return clean_text(str(error), 400)
    return clean_text(f"evaluator error while scoring this team: {type(error).__name__}: {error}", 400)


def score_team(entry: TeamEntry, reference: Reference, options: ScoreOptions | None) -> None:
    predictions = read_team_predictions(entry.folder)
    entry.report = score_predictions(reference, predictions, entry.folder.real_path, options)


def read_team_co2(entry: TeamEntry) -> None:
    folder = entry.folder
    if folder.problem is not None:
        return
    if not os.path.lexists(os.path.join(folder.path, "emission.csv")):
        entry.co2_note = "no emission.csv"
        return
    try:
        entry.co2_kg, entry.co2_note = target_value_co2("emission.csv", root=folder.path)
    except InputError as error:
        entry.co2_note = str(error)


def mark_duplicates(entries: list[TeamEntry]) -> None:
    """Teams sharing a name: shown as 'name (folder)', flagged; the folder path if folders match too."""
    counts = Counter(e.name for e in entries)
    for entry in entries:
        if counts[entry.name] > 1:
            entry.duplicate_name = True
            entry.notes.append(f"{counts[entry.name]} teams are named {entry.name!r}")
            entry.team = f"{entry.name} ({folder_label(entry.folder.path)})"
    counts = Counter(e.team for e in entries)
    for entry in entries:
        if counts[entry.team] > 1:
            entry.team = f"{entry.name} ({entry.directory})"


def team_entry(directory: str, reference: Reference, options: ScoreOptions | None) -> TeamEntry:
    """One team scored; whatever goes wrong is its error row, never the whole run's."""
    folder = open_team_folder(directory)
    entry = TeamEntry(folder, folder.name, folder.name, list(folder.notes))
    try:
        score_team(entry, reference, options)
    except Exception as error:  # one team's failure is its row, never the whole run's
        entry.error, entry.report = _failure(error), None
    try:
        read_team_co2(entry)
    except Exception as error:
        entry.co2_note = _failure(error)
    return entry


def rank_teams(reference: Reference, directories: list[str], *, options: ScoreOptions | None = None,
               baseline: float | None = None) -> Board:
    """Score every directory against the once-loaded ``reference`` and rank them; a team never raises."""
    registry = reference.registry
    baseline = registry.baseline_integral if baseline is None else baseline
    if (options is None or options.progress) and len(directories) > 1:
        from tqdm import tqdm  # third-party, only for interactive runs

        directories = tqdm(directories, desc="teams", unit="team", leave=False, disable=None)
    entries = [team_entry(directory, reference, options) for directory in directories]
    mark_duplicates(entries)
    ranked = sorted((e for e in entries if e.error is None), key=lambda e: (-e.integral, e.team))
    failed = sorted((e for e in entries if e.error is not None), key=lambda e: e.team)
    for rank, entry in enumerate(ranked, 1):
        entry.rank = rank
    nomination, above = nomination_threshold([e.integral for e in ranked], baseline)
    winner = sustainable_winner(ranked, nomination)
    return Board(ranked + failed, [t.name for t in registry.tasks], baseline, above, nomination,
                 None if winner is None else winner.team, RULE, STDERR_METHOD, reference_records(reference))


def build_leaderboard(ground_truth: str, task_ids: str, directories: list[str], *, input_path: str | None = None,
                      registry: Registry | None = None, options: ScoreOptions | None = None,
                      baseline: float | None = None) -> Board:
    """Score every directory and rank them. The shared files raise InputError; a team never does."""
    reference = load_reference(ground_truth, task_ids, input_path, registry)
    return rank_teams(reference, directories, options=options, baseline=baseline)
