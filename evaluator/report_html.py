"""Self-contained HTML pages (inline CSS, base64 thumbnails) for a score report and a leaderboard."""

from __future__ import annotations

import base64
import html
import io
import os

from evaluator import fbc2_files as files
from evaluator.report_text import fmt

STYLE = """
body{font-family:sans-serif;margin:2em;color:#222} table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left} th{background:#f0f0f0}
.nc{color:#b00} .note{color:#666;font-size:90%} .pair img{margin-right:4px;border:1px solid #ddd}
.winner{font-weight:bold;color:#070}
"""


def thumbnail_uri(path: str | None, size: int = 128) -> str | None:
    """A data: URI with a JPEG thumbnail of the image at `path` (None if unreadable)."""
    if not path:
        return None
    from PIL import Image

    try:
        with Image.open(path) as image:
            thumb = image.convert("RGB")
            thumb.thumbnail((size, size))
    except Exception:
        return None
    buffer = io.BytesIO()
    thumb.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def generation_pairs(ground_truth: dict, predictions: dict, gt_dir: str, pred_dir: str, sample_ids: list[str],
                     limit: int = 6) -> list[tuple[str, str | None, str | None]]:
    """(sample id, generated image path or None, ground-truth image path or None) for the first samples."""
    pairs = []
    for sample_id in sorted(sample_ids, key=lambda s: (len(s), s))[:limit]:
        generated = gold = None
        content, kind, _ = files.first_item(predictions.get(sample_id), "image")
        if kind is None:
            generated, _, _ = files.resolve_inside(pred_dir, content)
        content, kind, _ = files.first_item(ground_truth.get(sample_id), "image")
        if kind is None:
            gold, _, _ = files.resolve_inside(gt_dir, content)
        pairs.append((sample_id, generated, gold))
    return pairs


def _img(uri: str | None, alt: str) -> str:
    if uri is None:
        return f'<span class="nc">[{html.escape(alt)}: none]</span>'
    return f'<img src="{uri}" alt="{html.escape(alt)}" title="{html.escape(alt)}">'


def pairs_html(pairs) -> str:
    cells = []
    for sample_id, generated, gold in pairs:
        cells.append(f'<div class="pair">sample {html.escape(sample_id)}<br>'
                     f'{_img(thumbnail_uri(generated), "generated")}{_img(thumbnail_uri(gold), "ground truth")}</div>')
    return "".join(cells)


def _cell(value, digits: int = 4) -> str:
    text = html.escape(fmt(value, digits))
    return f'<td class="nc">{text}</td>' if value is None else f"<td>{text}</td>"


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


def render_score_html(report: dict, pairs=None) -> str:
    rows = ["<tr><th>task</th><th>kind</th><th>score</th><th>n</th><th>missing</th><th>malformed</th>"
            "<th>threshold</th><th>passes</th><th>components</th><th>not computed</th></tr>"]
    for name, t in report["tasks"].items():
        components = ", ".join(f"{k}={fmt(v)}" for k, v in t["components"].items())
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{t['kind']}</td>{_cell(t['score'])}<td>{t['n']}</td>"
                    f"<td>{t['missing']}</td><td>{t['malformed']}</td><td>{fmt(t['threshold'], 2)}</td>"
                    f"<td>{fmt(t['passes_threshold'])}</td><td>{html.escape(components)}</td>"
                    f"<td class='note'>{html.escape('; '.join(t['not_computed']))}</td></tr>")
    body = [f"<table>{''.join(rows)}</table>",
            f"<p><b>Integral score S = {report['integral']:.4f}</b>{' (PARTIAL)' if report['partial'] else ''}"
            f" <span class='note'>{html.escape(report['integral_note'])}</span></p>",
            f"<p>METEOR synonym stage: {html.escape(report['synonym_stage'])}</p>"]
    extras = report["extras"]["tasks"]
    if extras:
        names = sorted({k for v in extras.values() for k in v})
        head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
        body.append(f"<h2>Extras (NON-OFFICIAL)</h2><p class='note'>{html.escape(report['extras']['note'])}</p>"
                    f"<table><tr><th>task</th>{head}</tr>"
                    + "".join(f"<tr><td>{html.escape(task)}</td>" + "".join(_cell(v.get(n)) for n in names) + "</tr>"
                              for task, v in extras.items()) + "</table>")
    problems = report["problems"]["samples"]
    if problems:
        body.append("<h2>Prediction problems (each scores 0)</h2><ul>" + "".join(
            f"<li>{html.escape(p['task'])} sample {html.escape(p['id'])}: {html.escape(p['kind'])} "
            f"({html.escape(p['detail'])})</li>" for p in problems[:200]) + "</ul>")
    if report["warnings"]:
        body.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in report["warnings"]) + "</ul>")
    if pairs:
        body.append("<h2>ImageGeneration: generated | ground truth</h2>" + pairs_html(pairs))
    return _page("FBC2 evaluation", "".join(body))


def render_leaderboard_html(board: dict, pairs_by_team: dict | None = None) -> str:
    from evaluator.leaderboard import _nomination_line, _rows, _shown_tasks

    headers, rows = _rows(board, _shown_tasks(board))
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body_rows = []
    for row in rows:
        cls = " class='winner'" if "WINNER" in row else ""
        body_rows.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    body = [f"<table><tr>{head}</tr>{''.join(body_rows)}</table>", f"<p>{html.escape(_nomination_line(board))}</p>",
            f"<p class='note'>{html.escape(board['rule'])}</p>"]
    for team, pairs in (pairs_by_team or {}).items():
        if pairs:
            body.append(f"<h2>{html.escape(team)}: generated | ground truth</h2>{pairs_html(pairs)}")
    return _page("FBC2 local leaderboard", "".join(body))


def leaderboard_pairs(board: dict, ground_truth_path: str, task_ids: dict[str, int], registry, limit: int = 4) -> dict:
    """Thumbnail pairs of the image-output tasks' first samples for every scored team."""
    image_task_ids = {t.id for t in registry.tasks if t.output == "image"}
    sample_ids = [sid for sid, tid in task_ids.items() if tid in image_task_ids]
    if not sample_ids:
        return {}
    ground_truth = files.load_json(ground_truth_path, "ground-truth")
    gt_dir = os.path.dirname(os.path.abspath(ground_truth_path))
    result = {}
    for entry in board["entries"]:
        if entry["error"]:
            continue
        predictions_path = os.path.join(entry["directory"], "predictions.json")
        predictions = files.load_json(predictions_path, "predictions")
        result[entry["team"]] = generation_pairs(ground_truth, predictions, gt_dir,
                                                 os.path.dirname(os.path.abspath(predictions_path)), sample_ids, limit)
    return result
