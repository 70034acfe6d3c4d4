"""The cells every leaderboard rendering shares: which task columns, CO2, the nomination line."""

from __future__ import annotations

from evaluator.leaderboard.types import Board, TeamEntry
from evaluator.report.format import fmt_grams, fmt_score

RANKED_HEADERS = ["rank", "team", "integral", "partial", "missing", "malformed", "thresholds"]
NOT_COMPUTED = "not computed"
TAIL_HEADERS = ["CO2, g", "sustainable"]


def shown_tasks(board: Board) -> list[str]:
    """Task columns: every task with samples in the set, scored or not ("not computed" cells)."""
    return board.tasks_in_set or board.task_names[:6]


def score_cell(value: float | None, stderr: float | None) -> str:
    return NOT_COMPUTED if value is None else fmt_score(value, stderr)


def co2_cell(entry: TeamEntry) -> str:
    """CO2 in grams, or why there is none."""
    if entry.co2_kg is not None:
        return fmt_grams(entry.co2_kg) + (" (see notes)" if entry.co2_notes else "")
    return f"- ({entry.co2_note})" if entry.co2_note else "-"


def sustainable_cell(board: Board, entry: TeamEntry) -> str:
    return entry.sustainable


def team_notes(board: Board) -> list[tuple[str, str]]:
    """(team, note) for every note the organiser should see: names, inputs, implausible CO2 figures."""
    return [(e.team, note) for e in board.entries for note in e.notes + e.co2_notes]


def nomination_line(board: Board) -> str:
    if board.nomination is None:
        return f"Sustainability: no submission beats the baseline {board.baseline:.2f}; no nomination."
    winner = board.sustainable_winner or "none (no submission above it has a usable TargetValue CO2)"
    return (f"Sustainability: nomination = mean + std of {len(board.above_baseline)} scores above baseline "
            f"{board.baseline:.2f} = {board.nomination:.4f}; lowest-CO2 submission above it: {winner}")


def best_line(board: Board) -> str | None:
    """The best integral possible on this set, and a warning when the baseline is a full score."""
    if board.best_integral is None:
        return None
    warning = board.comparison_warning()
    return (f"Best integral possible on this set with these weights: {board.best_integral:.4f}"
            + (f". WARNING: {warning}." if warning else "."))


def ranked_rows(board: Board, task_names: list[str]) -> tuple[list[str], list[list[str]]]:
    """The ranked teams' rows: scores as 'score ± stderr'."""
    headers = RANKED_HEADERS + task_names + TAIL_HEADERS
    rows = []
    for e in board.ranked:
        report = e.report
        team = e.team + (" [same name]" if e.duplicate_name else "")
        rows.append([str(e.rank), team, fmt_score(e.integral, report.integral_stderr),
                     "yes" if e.partial else "no", str(e.missing), str(e.malformed), report.thresholds_summary or "-"]
                    + [score_cell(e.task_score(name), e.task_stderr(name)) for name in task_names]
                    + [co2_cell(e), sustainable_cell(board, e)])
    return headers, rows


def failed_rows(board: Board) -> list[list[str]]:
    return [[e.team, e.error] for e in board.failed]
