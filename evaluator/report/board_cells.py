"""The cells every leaderboard rendering shares: which task columns, CO2, the nomination line."""

from __future__ import annotations

from evaluator.leaderboard.types import Board, TeamEntry
from evaluator.report.format import fmt_grams, fmt_score

RANKED_HEADERS = ["rank", "team", "integral", "partial", "thresholds"]
TAIL_HEADERS = ["CO2, g", "sustainable"]


def shown_tasks(board: Board) -> list[str]:
    """Task columns worth showing: those any team has a score for."""
    return [n for n in board.task_names if any(e.task_score(n) is not None for e in board.entries)] or \
        board.task_names[:6]


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


def ranked_rows(board: Board, task_names: list[str]) -> tuple[list[str], list[list[str]]]:
    """The ranked teams' rows: scores as 'score ± stderr'."""
    headers = RANKED_HEADERS + task_names + TAIL_HEADERS
    rows = []
    for e in board.ranked:
        report = e.report
        team = e.team + (" [same name]" if e.duplicate_name else "")
        rows.append([str(e.rank), team, fmt_score(e.integral, report.integral_stderr),
                     "yes" if e.partial else "no", report.thresholds_summary or "-"]
                    + [fmt_score(e.task_score(name), e.task_stderr(name)) for name in task_names]
                    + [co2_cell(e), sustainable_cell(board, e)])
    return headers, rows


def failed_rows(board: Board) -> list[list[str]]:
    return [[e.team, e.error] for e in board.failed]
