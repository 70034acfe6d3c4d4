"""Team images from strangers in the evaluator: PostScript never starts Ghostscript, a progressive
JPEG with thousands of scans is refused before decoding, and the gallery finds a team's images
whatever its folder is called."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from helpers.hostile_images import DOS_EPS, POSTSCRIPT, many_scan_jpeg

from evaluator.cli import main

REPO = Path(__file__).resolve().parents[2]


def score_json(fbc2_set, predictions, tmp_path) -> dict:
    report = tmp_path / "report.json"
    assert main(["score", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
                 "--input", str(fbc2_set.input_path), "--predictions", str(predictions), "--quiet",
                 "--json", str(report)]) == 0
    return json.loads(report.read_text(encoding="utf-8"))


def problems_of(report: dict) -> dict[str, tuple[str, str]]:
    return {p["id"]: (p["kind"], p["detail"]) for p in report["problems"]["samples"]}


def fake_ghostscript(folder: Path, marker: Path) -> Path:
    """A `gs` on PATH that leaves `marker` when anything starts it (Pillow looks gs up on PATH)."""
    folder.mkdir()
    gs = folder / "gs"
    gs.write_text(f"#!/bin/sh\necho started >> '{marker}'\nexit 1\n")
    gs.chmod(gs.stat().st_mode | stat.S_IXUSR)
    return folder


def test_postscript_named_as_a_png_never_reaches_ghostscript(fbc2_set, tmp_path):
    answers = fbc2_set.perfect_predictions()
    answers["4"] = [{"type": "image", "content": "images/4.jpg"}]  # the generated images of samples 4 and 5
    predictions = fbc2_set.write_predictions(answers)
    (predictions.parent / "images" / "4.jpg").write_bytes(POSTSCRIPT)  # PostScript saved as .jpg
    (predictions.parent / "images" / "5.png").write_bytes(DOS_EPS)  # a DOS EPS binary header under .png
    marker = tmp_path / "gs-started"
    bin_dir = fake_ghostscript(tmp_path / "bin", marker)
    report, page = tmp_path / "report.json", tmp_path / "report.html"
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "evaluator", "score", "--ground-truth", str(fbc2_set.gt_path),
                           "--task-ids", str(fbc2_set.task_ids_path), "--input", str(fbc2_set.input_path),
                           "--predictions", str(predictions), "--quiet", "--json", str(report), "--html", str(page)],
                          cwd=REPO, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-400:]
    assert not marker.exists(), "Ghostscript was started"
    problems = problems_of(json.loads(report.read_text(encoding="utf-8")))
    for sid in ("4", "5"):
        kind, detail = problems[sid]
        assert kind == "image_unreadable" and "not an image in a known raster format" in detail


def test_a_jpeg_with_thousands_of_scans_is_refused_before_decoding(fbc2_set, tmp_path):
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    (predictions.parent / "images" / "4.png").write_bytes(many_scan_jpeg(256, 3000))  # a JPEG under a PNG name
    kind, detail = problems_of(score_json(fbc2_set, predictions, tmp_path))["4"]
    assert kind == "image_unreadable" and "JPEG with 3000 scans" in detail


def test_a_few_progressive_scans_are_fine(fbc2_set, tmp_path):
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    (predictions.parent / "images" / "4.png").write_bytes(many_scan_jpeg(64, 20))
    assert "4" not in problems_of(score_json(fbc2_set, predictions, tmp_path))


def gallery_thumbnails(fbc2_set, folder: Path, tmp_path) -> int:
    page = tmp_path / "board.html"
    assert main(["leaderboard", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
                 "--quiet", str(folder), "--html", str(page)]) == 0
    return page.read_text(encoding="utf-8").count("data:image/jpeg;base64,")


def test_the_gallery_reads_a_team_whose_folder_has_a_zero_width_character(fbc2_set, tmp_path):
    relative = "teams/te\u200bam"
    fbc2_set.write_predictions(fbc2_set.perfect_predictions(relative), relative)
    # ImageGeneration samples 4 and 5: two ground-truth thumbnails and the team's two
    assert gallery_thumbnails(fbc2_set, fbc2_set.root / relative, tmp_path) == 4


def test_the_gallery_reads_a_team_whose_path_is_over_200_characters(fbc2_set, tmp_path):
    relative = "teams/" + "x" * 150 + "/" + "y" * 120
    fbc2_set.write_predictions(fbc2_set.perfect_predictions(relative), relative)
    assert len(str(fbc2_set.root / relative)) > 200
    assert gallery_thumbnails(fbc2_set, fbc2_set.root / relative, tmp_path) == 4
