"""A local leaderboard over several teams' outputs, with the sustainability nomination.

Each team folder (see evaluator.io.team) is scored in isolation: whatever goes wrong with one
team (an unreadable or hostile file, a mix-up the sanity checks catch, even an evaluator bug)
becomes that team's error row, which is not ranked and is listed after the ranked teams, and so
does a team whose run.py `run_state.json` records another input.json than `--input` (when every
team does, the shared `--input` is the likely mistake: one InputError). Teams sharing a name are
told apart by their folder and flagged; so are names that read alike after normalisation
(`evaluator.names`: a Cyrillic letter for a Latin one, an invisible code point).

Sustainability ("The Most Sustainable Solution"): M = the integral scores strictly above the
baseline (the registry's `baseline_integral` by default); nomination = mean(M) + std(M)
(population std, numpy's default); among submissions strictly above the nomination, the lowest
CO2 (the last TargetValue row of its emission.csv, from a file and row `evaluator.co2_rows`
finds consistent) wins. A team without such a row is "not eligible", with the reason.
"""

from __future__ import annotations

import os
import statistics
from collections import Counter

from evaluator.co2 import target_value
from evaluator.errors import InputError
from evaluator.io.display import clean_text
from evaluator.io.reference import Reference, load_reference
from evaluator.io.run_state import OtherInput, check_answers_input, input_fingerprint
from evaluator.io.team import folder_label, open_team_folder, read_team_predictions
from evaluator.leaderboard.types import Board, TeamEntry
from evaluator.names import look_alike_notes
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


def assign_ranks(ranked: list[TeamEntry]) -> None:
    """Ranks 1, 2, 2, 4 ...: teams with the same integral share a rank (listed by name)."""
    for position, entry in enumerate(ranked, 1):
        previous = ranked[position - 2] if position > 1 else None
        entry.rank = previous.rank if previous is not None and previous.integral == entry.integral else position


def _failure(error: BaseException) -> str:
    if isinstance(error, InputError):
        return clean_text(str(error), 400)
    return clean_text(f"evaluator error while scoring this team: {type(error).__name__}: {error}", 400)


def score_team(entry: TeamEntry, reference: Reference, options: ScoreOptions | None,
               input_check: tuple[str, str] | None = None) -> None:
    """Score one team; with `input_check` (the --input path, its hash) its run_state.json must name that input."""
    predictions = read_team_predictions(entry.folder)
    warning = None
    if input_check is not None:
        warning = check_answers_input(entry.folder.path, input_check[0], input_hash=input_check[1])
    elif entry.folder.problem is None:
        warning = check_answers_input(entry.folder.path, None)
    entry.report = score_predictions(reference, predictions, entry.folder.real_path, options)
    if warning:
        entry.notes.append(warning)


def read_team_co2(entry: TeamEntry) -> None:
    folder = entry.folder
    if folder.problem is not None:
        return
    if not os.path.lexists(os.path.join(folder.path, "emission.csv")):
        entry.co2_note = "no emission.csv"
        return
    try:
        entry.co2_kg, entry.co2_note, entry.co2_notes = target_value("emission.csv", root=folder.path)
    except InputError as error:
        entry.co2_note = str(error)


def mark_duplicates(entries: list[TeamEntry]) -> None:
    """Teams sharing a name: shown as 'name (folder)', flagged; the folder path if folders match too.
    Names that differ but read alike (evaluator.names) are flagged and told apart the same way."""
    look_alikes = look_alike_notes([e.name for e in entries])
    for index, note in look_alikes.items():
        entries[index].look_alike = True
        entries[index].notes.append(note)
    counts = Counter(e.name for e in entries)
    for entry in entries:
        if counts[entry.name] > 1:
            entry.duplicate_name = True
            entry.notes.append(f"{counts[entry.name]} teams are named {entry.name!r}")
        if counts[entry.name] > 1 or entry.look_alike:
            entry.team = f"{entry.name} ({folder_label(entry.folder.path)})"
    counts = Counter(e.team for e in entries)
    for entry in entries:
        if counts[entry.team] > 1:
            entry.team = f"{entry.name} ({entry.directory})"


def team_entry(directory: str, reference: Reference, options: ScoreOptions | None,
               input_check: tuple[str, str] | None = None) -> TeamEntry:
    """One team scored; whatever goes wrong is its error row, never the whole run's."""
    folder = open_team_folder(directory)
    entry = TeamEntry(folder, folder.name, folder.name, list(folder.notes))
    try:
        score_team(entry, reference, options, input_check)
    except Exception as error:  # one team's failure is its row, never the whole run's
        entry.error, entry.report = _failure(error), None
        entry.other_input = isinstance(error, OtherInput)
    try:
        read_team_co2(entry)
    except Exception as error:
        entry.co2_note = _failure(error)
    return entry


def mark_sustainability(entries: list[TeamEntry], nomination: float | None, winner: TeamEntry | None) -> None:
    """Each ranked entry's nomination cell: WINNER, eligible (above the nomination with a usable CO2),
    not eligible with the reason (no usable CO2), or nothing (below the nomination)."""
    for entry in entries:
        if entry is winner:
            entry.sustainable = "WINNER"
        elif entry.co2_kg is None:
            entry.sustainable = f"not eligible: {entry.co2_note or 'no CO2 value'}"
        elif nomination is not None and entry.integral > nomination:
            entry.sustainable = "eligible"


def rank_teams(reference: Reference, directories: list[str], *, options: ScoreOptions | None = None,
               baseline: float | None = None, input_path: str | None = None) -> Board:
    """Score every directory against the once-loaded ``reference`` and rank them; a team never raises.
    With ``input_path`` (the input.json scored), a team whose run_state.json names another is refused;
    InputError when every team is."""
    registry = reference.registry
    baseline = registry.baseline_integral if baseline is None else baseline
    input_check = (input_path, input_fingerprint(input_path)) if input_path else None
    if (options is None or options.progress) and len(directories) > 1:
        from tqdm import tqdm  # third-party, only for interactive runs

        directories = tqdm(directories, desc="teams", unit="team", leave=False, disable=None)
    entries = [team_entry(directory, reference, options, input_check) for directory in directories]
    if entries and all(e.other_input for e in entries):
        raise InputError(f"every team answered another input than --input {input_path}: "
                         f"{entries[0].error} (is --input the set these teams were run on?)")
    mark_duplicates(entries)
    ranked = sorted((e for e in entries if e.error is None), key=lambda e: (-e.integral, e.team))
    failed = sorted((e for e in entries if e.error is not None), key=lambda e: e.team)
    assign_ranks(ranked)
    nomination, above = nomination_threshold([e.integral for e in ranked], baseline)
    winner = sustainable_winner(ranked, nomination)
    mark_sustainability(ranked, nomination, winner)
    return Board(ranked + failed, [t.name for t in registry.tasks], baseline, above, nomination,
                 None if winner is None else winner.team, RULE, STDERR_METHOD, reference_records(reference))


def build_leaderboard(ground_truth: str, task_ids: str, directories: list[str], *, input_path: str | None = None,
                      registry: Registry | None = None, options: ScoreOptions | None = None,
                      baseline: float | None = None) -> Board:
    """Score every directory and rank them. The shared files raise InputError; a team never does."""
    reference = load_reference(ground_truth, task_ids, input_path, registry)
    return rank_teams(reference, directories, options=options, baseline=baseline)
