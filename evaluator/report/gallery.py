"""The HTML gallery: for every task, its first samples with the prompt, the ground truth and each
team's prediction and score, from the records scoring kept (the files each team's scoring read)."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field

from evaluator.io.images import open_rgb
from evaluator.leaderboard.types import Board
from evaluator.scoring.types import SampleRecord, ScoreReport

THUMB = 128
GALLERY_LIMIT = 10  # samples per task shown by default (0: all)
MAX_TEXT_CHARS = 300  # an answer or prompt cut for the page


def e(value) -> str:
    return html.escape(str(value))


def thumbnail_uri(path: str | None, size: int = THUMB) -> str | None:
    """A data: URI with a JPEG thumbnail of the image at `path` (None if unreadable)."""
    if not path:
        return None
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


def _text(value: str | None) -> str:
    if value is None:
        return "<span class='note'>none</span>"
    return e(value if len(value) <= MAX_TEXT_CHARS else value[:MAX_TEXT_CHARS - 1] + "…")


@dataclass
class GalleryTask:
    task: str
    output: str  # "text" or "image"
    total: int  # samples of the task in the set
    truth: list[SampleRecord]  # the rows shown, from the reference
    teams: dict[str, dict[str, SampleRecord]] = field(default_factory=dict)  # team -> sample id -> record


def build_gallery(truth: list[SampleRecord], reports: dict[str, ScoreReport],
                  limit: int = GALLERY_LIMIT) -> list[GalleryTask]:
    """Every task of `truth` (records of the reference) with its first `limit` samples (all with 0)
    and each team's record of them (`reports`: team label -> its report)."""
    by_task: dict[str, list[SampleRecord]] = {}
    for record in truth:
        by_task.setdefault(record.task, []).append(record)
    tasks = []
    for name, records in by_task.items():
        shown = sorted(records, key=lambda r: (len(r.sample_id), r.sample_id))
        shown = shown[:limit] if limit else shown
        gallery = GalleryTask(name, records[0].output, len(records), shown)
        for team, report in reports.items():
            gallery.teams[team] = {r.sample_id: r for r in report.samples if r.task == name}
        tasks.append(gallery)
    return tasks


def score_gallery(report: ScoreReport, label: str = "prediction", limit: int = GALLERY_LIMIT) -> list[GalleryTask]:
    return build_gallery(report.samples, {label: report}, limit)


def leaderboard_gallery(board: Board, limit: int = GALLERY_LIMIT) -> list[GalleryTask]:
    """The gallery with every ranked team's predictions."""
    return build_gallery(board.reference_samples, {entry.team: entry.report for entry in board.ranked}, limit)


def _score_text(record: SampleRecord | None) -> str:
    if record is None:
        return ""
    if record.problem:
        return f"<div class='fail'>{e(record.problem)}</div>"
    if record.score is not None:
        return f"<div class='note'>score {record.score:.3f}</div>"
    parts = ", ".join(f"{name} {value:.3f}" for name, value in record.scores.items())
    return f"<div class='note'>{e(parts or 'not computed')}</div>"


def _prediction_cell(record: SampleRecord | None, team: str, output: str) -> str:
    if output == "image":
        shown = _img(thumbnail_uri(record.image_path if record else None), team)
    else:
        shown = _text(record.prediction if record else None)
    return f"<td>{shown}{_score_text(record)}</td>"


def _truth_cell(record: SampleRecord, output: str) -> str:
    if output == "image":
        return f"<td>{_img(thumbnail_uri(record.gold_image), 'ground truth')}</td>"
    golds = record.golds
    return f"<td>{_text(' | '.join(golds)) if golds else _text(None)}</td>"


def _task_html(gallery: GalleryTask) -> str:
    with_inputs = any(r.input_image for r in gallery.truth)
    head = ("<tr><th>sample</th><th>prompt</th>" + ("<th>input</th>" if with_inputs else "")
            + "<th>ground truth</th>" + "".join(f"<th>{e(team)}</th>" for team in gallery.teams) + "</tr>")
    rows = []
    for record in gallery.truth:
        prompt = _text(record.prompt) if record.prompt else "<span class=note>(no --input)</span>"
        cells = [f"<td>{e(record.sample_id)}</td>", f"<td class='prompt'>{prompt}</td>"]
        if with_inputs:
            cells.append(f"<td>{_img(thumbnail_uri(record.input_image), 'input')}</td>")
        cells.append(_truth_cell(record, gallery.output))
        cells += [_prediction_cell(records.get(record.sample_id), team, gallery.output)
                  for team, records in gallery.teams.items()]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    count = (f"all {gallery.total} samples" if len(gallery.truth) == gallery.total
             else f"the first {len(gallery.truth)} of {gallery.total} samples")
    return (f"<h3>{e(gallery.task)}: {count}</h3>"
            f"<table class='gallery'>{head}{''.join(rows)}</table>")


def gallery_html(gallery: list[GalleryTask] | None) -> str:
    if not gallery:
        return ""
    return ("<h2>Samples: prompt, ground truth and every prediction with its score</h2>"
            + "".join(_task_html(task) for task in gallery))
