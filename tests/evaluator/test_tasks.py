"""The task registry file: defaults, validation, hidden-metric assignment and weights."""

import json

import pytest

from evaluator.errors import InputError
from evaluator.tasks import load_registry, with_hidden_metrics


def test_default_registry_has_six_open_tasks_and_six_hidden_slots():
    registry = load_registry()
    open_tasks = [t for t in registry.tasks if t.kind == "open"]
    hidden = [t for t in registry.tasks if t.kind == "hidden"]
    assert [t.name for t in open_tasks] == ["TextQA", "MathQA", "ImageGeneration", "ImageCaptioning", "VisualQA",
                                            "TRitW"]
    assert [t.id for t in open_tasks] == [0, 1, 2, 3, 4, 5]
    assert len(hidden) == 6 and all(t.metric is None for t in hidden)
    assert {t.name: t.threshold for t in open_tasks} == {
        "TextQA": 0.2, "MathQA": 0.25, "ImageGeneration": 0.21, "ImageCaptioning": 0.15, "VisualQA": 0.24,
        "TRitW": 0.13}
    assert registry.weight(open_tasks[0]) == pytest.approx(1 / 15)
    assert registry.weight(hidden[0]) == pytest.approx(1 / 10)
    assert registry.baseline_integral == 0.24


def test_baseline_scores_reproduce_the_published_integral():
    # S = (0.25+0.31+0.28+0.23+0.34+0.36)/15 + (0.20+0.20+0.27+0.17+0.30+0.11)/10
    #   = 1.77/15 + 1.25/10 = 0.118 + 0.125 = 0.243 -> the published 0.24
    registry = load_registry()
    integral = sum(registry.weight(t) * t.baseline for t in registry.tasks)
    assert integral == pytest.approx(0.243)


def test_hidden_metric_assignment_sets_output_type():
    registry = with_hidden_metrics(load_registry(), {"Hidden2": "generation_clip_fid", "Hidden1": "vqa_meteor"})
    by_name = {t.name: t for t in registry.tasks}
    assert by_name["Hidden1"].metric == "vqa_meteor" and by_name["Hidden1"].output == "text"
    assert by_name["Hidden2"].output == "image"
    with pytest.raises(InputError, match="unknown metric"):
        with_hidden_metrics(registry, {"Hidden3": "bleu"})
    with pytest.raises(InputError, match="no task named"):
        with_hidden_metrics(registry, {"Hidden9": "vqa_meteor"})


@pytest.mark.parametrize("task, message", [
    ({"id": 0, "name": "A", "kind": "open", "metric": "nope"}, "unknown metric"),
    ({"id": 0, "name": "A", "kind": "secret", "metric": None}, "kind"),
    ({"id": 0, "name": "A", "kind": "open", "output": "image", "metric": "textqa_f1"}, "scores 'text'"),
    ({"id": "0", "name": "A", "kind": "open", "metric": None}, "integer"),
    ({"name": "A", "kind": "open"}, "lacks 'id'"),
    ({"id": 0, "name": "A", "kind": "open", "colour": "red"}, "unknown fields"),
])
def test_invalid_registry_entries_are_rejected(tmp_path, task, message):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"tasks": [task]}), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_registry(str(path))


def test_duplicate_ids_rejected_and_bad_json_reported(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"tasks": [{"id": 0, "name": "A", "kind": "open"},
                                          {"id": 0, "name": "B", "kind": "open"}]}), encoding="utf-8")
    with pytest.raises(InputError, match="unique"):
        load_registry(str(path))
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_registry(str(path))


def test_registry_round_trips_through_to_json(tmp_path):
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(load_registry().to_json()), encoding="utf-8")
    assert load_registry(str(path)) == load_registry()
