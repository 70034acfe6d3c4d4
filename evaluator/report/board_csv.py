"""The leaderboard as CSV: every team, one column per task score and one per its stderr."""

from __future__ import annotations

import csv
import io

from evaluator.leaderboard.types import Board
from evaluator.report.board_cells import sustainable_cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run: text starting with =, +, -, @, tab or CR gets a leading '."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        try:
            float(text)
            return text  # a plain negative number stays a number
        except ValueError:
            return "'" + text
    return text


def _number(value) -> str:
    return "" if value is None else repr(float(value))


def render_csv(board: Board) -> str:
    """Every team, ranked first, then the failed ones (rank empty, reason in 'error'); one
    column per task score and one per its stderr; CO2 in kg as a number."""
    names = board.task_names
    headers = (["rank", "team", "folder", "integral", "integral_stderr", "partial", "thresholds"]
               + [c for n in names for c in (n, f"{n}_stderr")] + ["co2_kg", "co2_note", "sustainable", "error"])
    rows = []
    for e in board.entries:
        report = e.report
        ok = e.error is None
        rows.append([e.rank or "", e.team, e.directory, _number(e.integral),
                     _number(report.integral_stderr if report else None),
                     ("yes" if e.partial else "no") if ok else "", (report.thresholds_summary if report else None) or ""]
                    + [c for n in names for c in (_number(e.task_score(n)), _number(e.task_stderr(n)))]
                    + [_number(e.co2_kg), e.co2_note or "", sustainable_cell(board, e) if ok else "", e.error or ""])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([[csv_cell(cell) for cell in row] for row in rows])
    return buffer.getvalue()
