"""The leaderboard as a Markdown table (every cell shown literally)."""

from __future__ import annotations

from evaluator.io.display import clean_text
from evaluator.leaderboard.types import Board
from evaluator.report.board_cells import (
    best_line,
    failed_rows,
    nomination_line,
    ranked_rows,
    shown_tasks,
    team_notes,
)

MARKDOWN_SPECIALS = "\\`*_[]<>|&~"  # cells never start a line, so #, +, - and digits with . are safe


def markdown_cell(text: str) -> str:
    """Text shown literally in a Markdown table cell: no HTML, no links, no emphasis, one line."""
    text = clean_text(str(text))
    return "".join("\\" + ch if ch in MARKDOWN_SPECIALS else ch for ch in text)


def render_markdown(board: Board) -> str:
    headers, rows = ranked_rows(board, shown_tasks(board))
    lines = ["| " + " | ".join(markdown_cell(h) for h in headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]
    best = best_line(board)
    out = "\n".join(lines) + "\n\n" + (markdown_cell(best) + "\n\n" if best else "") + markdown_cell(nomination_line(board)) + "\n"
    failed = failed_rows(board)
    if failed:
        out += f"\nNot ranked ({len(failed)} failed):\n\n| team | reason |\n| --- | --- |\n"
        out += "".join(f"| {markdown_cell(team)} | {markdown_cell(reason)} |\n" for team, reason in failed)
    notes = team_notes(board)
    if notes:
        out += "\nNotes:\n\n| team | note |\n| --- | --- |\n"
        out += "".join(f"| {markdown_cell(team)} | {markdown_cell(note)} |\n" for team, note in notes)
    return out
