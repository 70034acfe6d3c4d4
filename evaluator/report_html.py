"""Self-contained HTML pages (inline CSS, base64 thumbnails) for a score report and a leaderboard.

Conventions followed (EvalAI/CodaLab leaderboards, lm-evaluation-harness tables): scores as
`value ± stderr`, the best value of each column highlighted, pass/fail coloured, failed
submissions in their own unranked list with the reason, CO2 in grams, and a gallery with one row
per sample: the prompt, the ground truth, then every team's image at the same size.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field

from evaluator import fbc2_files as files
from evaluator.report_text import fmt, fmt_score

THUMB = 128
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


def thumbnail_uri(path: str | None, size: int = THUMB) -> str | None:
    """A data: URI with a JPEG thumbnail of the image at `path` (None if unreadable)."""
    if not path:
        return None
    from evaluator.images import open_rgb

    try:
        thumb = open_rgb(path)
        thumb.thumbnail((size, size))
    except Exception:
        return None
    buffer = io.BytesIO()
    thumb.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(uri: str | None, alt: str) -> str:
    if uri is None:
        return f'<div class="none">{e(alt)}: none</div>'
    return f'<img src="{uri}" alt="{e(alt)}" title="{e(alt)}">'


# ----- gallery: one row per sample, every team beside the ground truth -----------------------
@dataclass
class Gallery:
    sample_ids: list[str]
    prompts: dict[str, str | None]
    truth: dict[str, str | None]  # sample id -> thumbnail URI
    teams: dict[str, dict[str, str | None]] = field(default_factory=dict)  # team -> sample id -> URI


def _image_path(value, folder: str) -> str | None:
    content, kind, _ = files.first_item(value, "image")
    if kind is not None:
        return None
    path, kind, _ = files.resolve_inside(folder, content)
    return path if kind is None else None


def build_gallery(reference, registry, limit: int = 6) -> Gallery:
    """The first `limit` samples of the image-output tasks with their prompt and ground truth."""
    image_tasks = {t.id for t in registry.tasks if t.output == "image"}
    ids = sorted((sid for sid, tid in reference.task_ids.items() if tid in image_tasks and sid in reference.ground_truth),
                 key=lambda s: (len(s), s))[:limit]
    prompts = {sid: files.generation_caption(reference.inputs.get(sid)) if reference.inputs else None for sid in ids}
    truth = {sid: thumbnail_uri(_image_path(reference.ground_truth[sid], reference.ground_truth_dir)) for sid in ids}
    return Gallery(ids, prompts, truth)


def add_team(gallery: Gallery, team: str, predictions: dict, predictions_dir: str) -> None:
    gallery.teams[team] = {sid: thumbnail_uri(_image_path(predictions.get(sid), predictions_dir))
                           for sid in gallery.sample_ids}


def gallery_html(gallery: Gallery | None) -> str:
    if gallery is None or not gallery.sample_ids:
        return ""
    head = "<tr><th>sample</th><th>prompt</th><th>ground truth</th>" + "".join(
        f"<th>{e(team)}</th>" for team in gallery.teams) + "</tr>"
    rows = []
    for sid in gallery.sample_ids:
        prompt = gallery.prompts.get(sid)
        cells = [f"<td>{e(sid)}</td>", f"<td class='prompt'>{e(prompt) if prompt else '<span class=note>(no --input)</span>'}</td>",
                 f"<td>{_img(gallery.truth[sid], 'ground truth')}</td>"]
        cells += [f"<td>{_img(images.get(sid), team)}</td>" for team, images in gallery.teams.items()]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<h2>Gallery: image generation, one row per sample</h2><table class='gallery'>{head}{''.join(rows)}"
            "</table>")


def leaderboard_gallery(board: dict, reference, registry, limit: int = 6) -> Gallery | None:
    """The gallery with every ranked team's images (a team whose files cannot be read again gets none)."""
    gallery = build_gallery(reference, registry, limit)
    if not gallery.sample_ids:
        return None
    for entry in board["entries"]:
        if entry["error"] is not None:
            continue
        try:
            predictions = files.load_json("predictions.json", "predictions", root=entry["directory"])
        except files.InputError:
            predictions = {}
        add_team(gallery, entry["team"], predictions, os.path.realpath(entry["directory"]))
    return gallery


# ----- shared pieces ---------------------------------------------------------------------------
def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1>{body}</body></html>\n")


def _num(value, stderr=None, best: bool = False) -> str:
    cls = "num best" if best else "num"
    if value is None:
        return "<td class='num nc'>n/c</td>"
    return f"<td class='{cls}'>{e(fmt_score(value, stderr))}</td>"


def _pass_cell(passes) -> str:
    if passes is None:
        return "<td class='nc'>n/c</td>"
    return "<td class='pass'>pass</td>" if passes else "<td class='fail'>FAIL</td>"


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
def render_score_html(report: dict, gallery: Gallery | None = None) -> str:
    rows = ["<tr><th>task</th><th>kind</th><th>score ± stderr</th><th>n</th><th>missing</th><th>malformed</th>"
            "<th>threshold</th><th>passes</th><th>components</th><th>not computed</th></tr>"]
    for name, t in report["tasks"].items():
        if not t["n"]:
            continue
        components = ", ".join(f"{k}={fmt(v)}" for k, v in t["components"].items() if k != "generated_images")
        rows.append(f"<tr><td>{e(name)}</td><td>{e(t['kind'])}</td>{_num(t['score'], t['stderr'])}"
                    f"<td class='num'>{t['n']}</td><td class='num'>{t['missing']}</td><td class='num'>{t['malformed']}</td>"
                    f"<td class='num'>{e(fmt(t['threshold'], 2)) if t['threshold'] is not None else '-'}</td>"
                    f"{_pass_cell(t['passes_threshold']) if t['threshold'] is not None else '<td>-</td>'}"
                    f"<td>{e(components)}</td><td class='note'>{e('; '.join(t['not_computed']))}</td></tr>")
    absent = report.get("absent_tasks") or []
    body = [f"<table>{''.join(rows)}</table>"]
    if absent:
        body.append(f"<p class='note'>Tasks without samples in this set (count 0): {e(', '.join(absent))}</p>")
    body += [f"<p><b>Integral score S = {e(fmt_score(report['integral'], report.get('integral_stderr')))}</b>"
             f"{' (PARTIAL)' if report['partial'] else ''} <span class='note'>{e(report['integral_note'])}</span></p>",
             f"<p>Prize thresholds: <b>{e(report['thresholds_summary'])}</b></p>",
             f"<p class='note'>stderr: {e(report['stderr_method'])}</p>",
             f"<p>METEOR synonym stage: {e(report['synonym_stage'])}</p>"]
    if report.get("co2"):
        body.append(f"<p>CO2 (eco2AI, last TargetValue row): {e(report['co2']['text'])}</p>")
    extras = report["extras"]["tasks"]
    if extras:
        names = sorted({k for v in extras.values() for k in v})
        head = "".join(f"<th>{e(n)}</th>" for n in names)
        body.append(f"<h2>Extras (NON-OFFICIAL)</h2><p class='note'>{e(report['extras']['note'])}</p>"
                    f"<table><tr><th>task</th>{head}</tr>"
                    + "".join(f"<tr><td>{e(task)}</td>" + "".join(_num(v.get(n)) for n in names) + "</tr>"
                              for task, v in extras.items()) + "</table>")
    problems = report["problems"]["samples"]
    if problems:
        body.append("<h2>Prediction problems (each scores 0)</h2><ul>" + "".join(
            f"<li>{e(p['task'])} sample {e(p['id'])}: {e(p['kind'])} ({e(p['detail'])})</li>" for p in problems[:200])
            + "</ul>")
    if report["warnings"]:
        body.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{e(w)}</li>" for w in report["warnings"]) + "</ul>")
    body.append(gallery_html(gallery))
    body.append(provenance_html(report.get("provenance")))
    return _page("FBC2 evaluation", "".join(body))


# ----- the leaderboard -------------------------------------------------------------------------
def _best(board: dict, key) -> float | None:
    values = [key(entry) for entry in board["entries"] if entry["error"] is None]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def render_leaderboard_html(board: dict, gallery: Gallery | None = None) -> str:
    from evaluator.leaderboard import _nomination_line, _shown_tasks, co2_cell, failed_entries, ranked_entries

    tasks = _shown_tasks(board)
    head = ("<tr><th>rank</th><th>team</th><th>integral ± stderr</th><th>partial</th><th>thresholds</th>"
            + "".join(f"<th>{e(t)}</th>" for t in tasks) + "<th>CO2</th><th>sustainable</th></tr>")
    best_integral = _best(board, lambda x: x["integral"])
    best_task = {t: _best(board, lambda x, t=t: x["tasks"].get(t)) for t in tasks}
    co2_values = [x["co2_kg"] for x in ranked_entries(board) if x["co2_kg"] is not None]
    lowest_co2 = min(co2_values) if co2_values else None
    rows = []
    for x in ranked_entries(board):
        winner = board["sustainable_winner"] == x["team"]
        known = [v for v in x["thresholds"].values() if v is not None]
        threshold_cls = "fail" if False in known else ("pass" if known else "nc")
        flag = " <span class='note'>[same name as another team]</span>" if x["duplicate_name"] else ""
        co2_cls = "num best" if x["co2_kg"] is not None and x["co2_kg"] == lowest_co2 else "num"
        sustainable = "WINNER" if winner else ("eligible" if board["nomination"] is not None
                                               and x["integral"] > board["nomination"] else "")
        rows.append(f"<tr><td class='num'>{x['rank']}</td><td>{e(x['team'])}{flag}</td>"
                    f"{_num(x['integral'], x['integral_stderr'], x['integral'] == best_integral)}"
                    f"<td>{'yes' if x['partial'] else 'no'}</td>"
                    f"<td class='{threshold_cls}'>{e(x['thresholds_summary'] or '-')}</td>"
                    + "".join(_num(x["tasks"].get(t), x["task_stderr"].get(t),
                                   x["tasks"].get(t) is not None and x["tasks"].get(t) == best_task[t]) for t in tasks)
                    + f"<td class='{co2_cls}'>{e(co2_cell(x))}</td>"
                    f"<td class='{'winner' if winner else ''}'>{e(sustainable)}</td></tr>")
    body = [f"<h2>Ranked submissions</h2><table>{head}{''.join(rows)}</table>",
            "<p class='note'>Scores are mean ± bootstrap standard error over samples; the best value of each "
            "column is highlighted; thresholds count the open tasks whose prize threshold could be checked; "
            "CO2 is the last TargetValue row of the team's eco2AI emission.csv, in grams.</p>",
            f"<p>{e(_nomination_line(board))}</p>", f"<p class='note'>{e(board['rule'])}</p>"]
    failed = failed_entries(board)
    if failed:
        body.append(f"<h2>Not ranked: {len(failed)} failed submission{'s' if len(failed) > 1 else ''}</h2>"
                    "<table class='failed'><tr><th>team</th><th>folder</th><th>reason</th></tr>" + "".join(
                        f"<tr><td>{e(x['team'])}</td><td>{e(x['directory'])}</td><td class='reason'>{e(x['error'])}</td></tr>"
                        for x in failed) + "</table>")
    body.append(gallery_html(gallery))
    body.append(provenance_html(board.get("provenance")))
    return _page("FBC2 local leaderboard", "".join(body))
