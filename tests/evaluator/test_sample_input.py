"""The organisers' sample set (sample_input/, written by another part of the project): its ground
truth scored as predictions gives 1.0 on the text tasks and null + partial for CLIP/FID tasks."""

import json
import shutil
from pathlib import Path

import pytest

from evaluator.options import ScoreOptions
from evaluator.scoring.score import score_files

SAMPLE = Path(__file__).resolve().parents[2] / "sample_input"
pytestmark = pytest.mark.skipif(not (SAMPLE / "ground_truth.json").is_file(), reason="sample_input/ is absent")


def test_ground_truth_as_predictions(tmp_path):
    ground_truth = json.loads((SAMPLE / "ground_truth.json").read_text(encoding="utf-8"))
    predictions = {}
    for sample_id, value in ground_truth.items():
        item = value[0] if isinstance(value, list) else value
        if item["type"] == "text":
            content = item["content"]
            predictions[sample_id] = [{"type": "text", "content": content[0] if isinstance(content, list) else content}]
        else:
            target = tmp_path / item["content"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SAMPLE / item["content"], target)
            predictions[sample_id] = [{"type": "image", "content": item["content"]}]
    path = tmp_path / "predictions.json"
    path.write_text(json.dumps(predictions, ensure_ascii=False), encoding="utf-8")
    report = score_files(str(SAMPLE / "ground_truth.json"), str(path), str(SAMPLE / "sample_ids.json"),
                         input_path=str(SAMPLE / "input.json"), options=ScoreOptions(progress=False)).to_json()
    for name in ("TextQA", "MathQA", "VisualQA", "TRitW"):
        assert report["tasks"][name]["n"] > 0
        assert report["tasks"][name]["score"] == pytest.approx(1.0), name
    for name in ("ImageGeneration", "ImageCaptioning"):
        assert report["tasks"][name]["score"] is None
    assert report["partial"] is True
    assert report["problems"]["missing"] == 0 and report["problems"]["malformed"] == 0
