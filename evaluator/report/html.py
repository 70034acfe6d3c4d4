"""Self-contained HTML pages (inline CSS, base64 thumbnails) for a score report and a leaderboard.

Conventions followed (EvalAI/CodaLab leaderboards, lm-evaluation-harness tables): scores as
`value ± stderr`, the best value of each column highlighted, pass/fail coloured, failed
submissions in their own unranked list with the reason, CO2 in grams, and a gallery of every task's
samples (evaluator.report.gallery): the prompt, the ground truth, then every team's prediction and score.
"""

from __future__ import annotations

import html

from evaluator.leaderboard.types import Board
from evaluator.metrics.task_metrics import TASK_METRICS
from evaluator.report.board_cells import (
    NOT_COMPUTED,
    best_line,
    co2_cell,
    nomination_line,
    shown_tasks,
    sustainable_cell,
    team_notes,
)
from evaluator.report.format import components_text, fmt, fmt_score
from evaluator.report.gallery import GalleryTask, gallery_html
from evaluator.report.text import best_integral_text
from evaluator.scoring.types import ScoreReport

STYLE = """
body{font-family:sans-serif;margin:2em;color:#222;max-width:1600px} table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top} th{background:#f0f0f0}
td.num{text-align:right;white-space:nowrap} .nc{color:#b00} .note{color:#666;font-size:90%}
.best{background:#dff0d8;font-weight:bold} .pass{color:#070;font-weight:bold} .fail{color:#b00;font-weight:bold}
.winner{font-weight:bold;color:#070} .reason{color:#b00;max-width:60em}
.gallery img,.gallery .none{width:128px;height:128px;object-fit:contain;border:1px solid #ddd;display:block}
.gallery .none{display:flex;align-items:center;justify-content:center;color:#b00;font-size:85%}
.gallery td.prompt{max-width:16em} dl.prov dt{font-weight:bold;float:left;clear:left;width:10em} dl.prov dd{margin-left:11em}
"""


def e(value) -> str:
    return html.escape(str(value))


# ----- shared pieces ---------------------------------------------------------------------------
def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1>{body}</body></html>\n")


def _num(value, stderr=None, best: bool = False, none: str = "n/c") -> str:
    cls = "num best" if best else "num"
    if value is None:
        return f"<td class='num nc'>{none}</td>"
    return f"<td class='{cls}'>{e(fmt_score(value, stderr))}</td>"


def _pass_cell(passes) -> str:
    if passes is None:
        return "<td class='nc'>n/c</td>"
    return "<td class='pass'>pass</td>" if passes else "<td class='fail'>FAIL</td>"


def _input_path(prov: dict | None, role: str) -> str:
    """The path of a scored file as the provenance records it ('the given files' without one)."""
    item = ((prov or {}).get("inputs") or {}).get(role)
    return item["path"] if item else "the given files"


def provenance_html(prov: dict | None) -> str:
    if not prov:
        return ""
    evaluator = prov.get("evaluator", {})
    commit = evaluator.get("commit") or "unknown (not a git checkout)"
    if evaluator.get("dirty"):
        commit += " (with uncommitted changes)"
    items = [("created (UTC)", prov.get("created_utc")), ("evaluator", f"{evaluator.get('version')}, commit {commit}"),
             ("python", prov.get("python")),
             ("packages", ", ".join(f"{k} {v}" for k, v in prov.get("packages", {}).items() if v))]
    items += [(role, f"{value['path']} sha256 {value['sha256'] or '-'}") for role, value in prov.get("inputs", {}).items()]
    return "<h2>Provenance</h2><dl class='prov note'>" + "".join(
        f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items) + "</dl>"


# ----- the score report ------------------------------------------------------------------------
def render_score_html(report: ScoreReport, gallery: list[GalleryTask] | None = None) -> str:
    rows = ["<tr><th>task</th><th>kind</th><th>score ± stderr</th><th>n</th><th>missing</th><th>malformed</th>"
            "<th>threshold</th><th>passes</th><th>components</th><th>not computed</th></tr>"]
    for name, t in report.tasks.items():
        if not t.n:
            continue
        rows.append(f"<tr><td>{e(name)}</td><td>{e(t.kind)}</td>{_num(t.score, t.stderr)}"
                    f"<td class='num'>{t.n}</td><td class='num'>{t.missing}</td><td class='num'>{t.malformed}</td>"
                    f"<td class='num'>{e(fmt(t.threshold, 2)) if t.threshold is not None else '-'}</td>"
                    f"{_pass_cell(t.passes_threshold) if t.threshold is not None else '<td>-</td>'}"
                    f"<td>{e(components_text(t.components))}</td><td class='note'>{e('; '.join(t.not_computed))}</td></tr>")
    body = [f"<table>{''.join(rows)}</table>"]
    if report.absent_tasks:
        body.append(f"<p class='note'>Tasks without samples in this set (count 0): {e(', '.join(report.absent_tasks))}</p>")
    body += [f"<p><b>Integral score S = {e(fmt_score(report.integral, report.integral_stderr))}</b>"
             f"{' (PARTIAL)' if report.partial else ''}; best possible on this set: {e(best_integral_text(report))} "
             f"<span class='note'>{e(report.integral_note)}</span></p>",
             f"<p>Prize thresholds: <b>{e(report.thresholds_summary)}</b></p>",
             f"<p class='note'>stderr: {e(report.stderr_method)}</p>",
             f"<p>METEOR synonym stage: {e(report.synonym_stage)}</p>"]
    if report.co2:
        body.append(f"<p>CO2 (eco2AI, last TargetValue row): {e(report.co2['text'])}</p>")
    if report.extras:
        names = sorted({k for v in report.extras.values() for k in v})
        head = "".join(f"<th>{e(n)}</th>" for n in names)
        body.append(f"<h2>Extras (NON-OFFICIAL)</h2><p class='note'>{e(report.extras_note)}</p>"
                    f"<table><tr><th>task</th>{head}</tr>"
                    + "".join(f"<tr><td>{e(task)}</td>" + "".join(_num(v.get(n)) for n in names) + "</tr>"
                              for task, v in report.extras.items()) + "</table>")
    problems = report.problems.samples
    if problems:
        body.append("<h2>Prediction problems (each scores 0)</h2><ul>" + "".join(
            f"<li>{e(p.task)} sample {e(p.sample_id)}: {e(p.kind)} ({e(p.detail)})</li>" for p in problems[:200])
            + "</ul>")
    if report.warnings:
        body.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{e(w)}</li>" for w in report.warnings) + "</ul>")
    body.append(gallery_html(gallery))
    body.append(provenance_html(report.provenance))
    return _page(f"FBC2 evaluation of {_input_path(report.provenance, 'predictions')} against "
                 f"{_input_path(report.provenance, 'ground_truth')}", "".join(body))


# ----- the leaderboard -------------------------------------------------------------------------
def _best(values, higher_is_better: bool = True) -> float | None:
    values = [v for v in values if v is not None]
    return (max(values) if higher_is_better else min(values)) if values else None


def _higher_is_better(board: Board, task: str) -> bool:
    """As the task's metric declares it (every FBC2 metric: higher is better)."""
    metric = next((e.report.tasks[task].metric for e in board.ranked if task in e.report.tasks), None)
    return TASK_METRICS[metric].higher_is_better() if metric in TASK_METRICS else True


def render_leaderboard_html(board: Board, gallery: list[GalleryTask] | None = None) -> str:
    tasks = shown_tasks(board)
    head = ("<tr><th>rank</th><th>team</th><th>integral ± stderr</th><th>partial</th><th>missing</th>"
            "<th>malformed</th><th>thresholds</th>"
            + "".join(f"<th>{e(t)}</th>" for t in tasks) + "<th>CO2</th><th>sustainable</th></tr>")
    ranked = board.ranked
    best_integral = _best(x.integral for x in ranked)
    best_task = {t: _best((x.task_score(t) for x in ranked), _higher_is_better(board, t)) for t in tasks}
    lowest_co2 = min((x.co2_kg for x in ranked if x.co2_kg is not None), default=None)
    rows = []
    for x in ranked:
        report = x.report
        winner = board.sustainable_winner == x.team
        known = [v for v in report.thresholds.values() if v is not None]
        threshold_cls = "fail" if False in known else ("pass" if known else "nc")
        flag = " <span class='note'>[same name as another team]</span>" if x.duplicate_name else ""
        co2_cls = "num best" if x.co2_kg is not None and x.co2_kg == lowest_co2 else "num"
        rows.append(f"<tr><td class='num'>{x.rank}</td><td>{e(x.team)}{flag}</td>"
                    f"{_num(x.integral, report.integral_stderr, x.integral == best_integral)}"
                    f"<td>{'yes' if x.partial else 'no'}</td><td class='num'>{x.missing}</td>"
                    f"<td class='num'>{x.malformed}</td>"
                    f"<td class='{threshold_cls}'>{e(report.thresholds_summary or '-')}</td>"
                    + "".join(_num(x.task_score(t), x.task_stderr(t),
                                   x.task_score(t) is not None and x.task_score(t) == best_task[t], NOT_COMPUTED)
                            for t in tasks)
                    + f"<td class='{co2_cls}'>{e(co2_cell(x))}</td>"
                    f"<td class='{'winner' if winner else ''}'>{e(sustainable_cell(board, x))}</td></tr>")
    body = [f"<h2>Ranked submissions</h2><table>{head}{''.join(rows)}</table>",
            "<p class='note'>Scores are mean ± bootstrap standard error over samples; the best value of each "
            "column is highlighted; thresholds count the open tasks whose prize threshold could be checked; "
            "CO2 is the last TargetValue row of the team's eco2AI emission.csv, in grams.</p>",
            f"<p>{e(best_line(board) or '')}</p>", f"<p>{e(nomination_line(board))}</p>",
            f"<p class='note'>{e(board.rule)}</p>"]
    failed = board.failed
    if failed:
        body.append(f"<h2>Not ranked: {len(failed)} failed submission{'s' if len(failed) > 1 else ''}</h2>"
                    "<table class='failed'><tr><th>team</th><th>folder</th><th>reason</th></tr>" + "".join(
                        f"<tr><td>{e(x.team)}</td><td>{e(x.directory)}</td><td class='reason'>{e(x.error)}</td></tr>"
                        for x in failed) + "</table>")
    notes = team_notes(board)
    if notes:
        body.append("<h2>Notes</h2><table class='failed'><tr><th>team</th><th>note</th></tr>" + "".join(
            f"<tr><td>{e(team)}</td><td class='reason'>{e(note)}</td></tr>" for team, note in notes) + "</table>")
    body.append(gallery_html(gallery))
    body.append(provenance_html(board.provenance))
    teams = f"{len(board.entries)} team{'s' if len(board.entries) != 1 else ''}"
    return _page(f"FBC2 local leaderboard: {teams} against {_input_path(board.provenance, 'ground_truth')}",
                 "".join(body))
