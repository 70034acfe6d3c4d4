"""Plain-text renderings: the score table of one submission and the leaderboard's terminal table."""

from __future__ import annotations

from evaluator.io.display import clean_text
from evaluator.leaderboard.types import Board
from evaluator.report.board_cells import failed_rows, nomination_line, ranked_rows, shown_tasks
from evaluator.report.format import components_text, fmt, fmt_score, table
from evaluator.scoring.types import ScoreReport

PASS_TEXT = {True: "pass", False: "FAIL", None: "n/c"}


def render_score(report: ScoreReport, verbose_problems: int = 10) -> str:
    """The score table and summary lines (warnings are not in it: the CLI prints them on stderr)."""
    rows = []
    for name, entry in report.tasks.items():
        if not entry.n:
            continue
        rows.append([
            name, entry.kind, fmt_score(entry.score, entry.stderr), entry.n, entry.missing, entry.malformed,
            fmt(entry.threshold, 2) if entry.threshold is not None else "-",
            "-" if entry.threshold is None else PASS_TEXT[entry.passes_threshold], components_text(entry.components),
        ])
    out = [table(["task", "kind", "score ± stderr", "n", "missing", "malformed", "threshold", "passes", "components"],
                 rows), ""]
    if report.absent_tasks:
        out.append(f"Tasks without samples in this set (count 0): {', '.join(report.absent_tasks)}")
    out.append(f"Integral score S = {fmt_score(report.integral, report.integral_stderr)}"
               + (" (PARTIAL)" if report.partial else ""))
    out.append(f"  {report.integral_note}")
    out.append(f"Prize thresholds: {report.thresholds_summary}")
    out.append(f"stderr: {report.stderr_method}")
    out.append(f"METEOR synonym stage: {report.synonym_stage}")
    for reason in report.not_computed:
        if "no samples" not in reason:
            out.append(f"NOT COMPUTED  {reason}")
    if report.extras:
        out.append("")
        out.append(f"Extras - {report.extras_note}:")
        names = sorted({k for values in report.extras.values() for k in values})
        out.append(table(["task (NON-OFFICIAL)"] + names,
                         [[task] + [fmt(values.get(k)) for k in names] for task, values in report.extras.items()]))
    problems = report.problems
    if problems.missing or problems.malformed:
        out.append("")
        out.append(f"Prediction problems: {problems.missing} missing, {problems.malformed} malformed "
                   f"({', '.join(f'{k}: {n}' for k, n in problems.by_kind().items())}); each such sample scores 0")
        for item in problems.samples[:verbose_problems]:
            out.append(f"  {item.task} sample {item.sample_id}: {item.kind} ({item.detail})")
        if len(problems.samples) > verbose_problems:
            out.append(f"  ... {len(problems.samples) - verbose_problems} more (see --json)")
    if report.co2:
        out.append("")
        out.append(f"CO2 (eco2AI, last TargetValue row): {report.co2['text']}")
    return "\n".join(out)


def render_board(board: Board) -> str:
    headers, rows = ranked_rows(board, shown_tasks(board))
    lines = [table(headers, rows), "", nomination_line(board)]
    failed = failed_rows(board)
    if failed:
        lines += ["", f"Not ranked ({len(failed)} failed):"] + [f"  {team}: {reason}" for team, reason in failed]
    return "\n".join(clean_text(line) for line in "\n".join(lines).split("\n"))
