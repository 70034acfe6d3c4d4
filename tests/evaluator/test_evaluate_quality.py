"""scripts/evaluate_quality.py: the mean over random seeds, the table, and a constant system end to end."""

import json

import pytest
from helpers.scripts import load_script

eq = load_script("evaluate_quality")


def report(scores: dict, meteor=None):
    """A report with the given open-task scores; ImageCaptioning not computed but its METEOR half."""
    tasks = {task: {"score": scores.get(task), "components": {}} for task in eq.OPEN_TASKS}
    for task, value in scores.items():
        tasks[task]["components"] = {"exact": value}
    tasks["ImageCaptioning"] = {"score": None, "components": {"clip": None, "meteor": meteor}}
    return {"tasks": tasks}


def test_mean_report_averages_scores_and_components_and_keeps_missing_as_none():
    a = report({"TextQA": 0.1, "MathQA": 0.2, "TRitW": 0.03}, meteor=0.0)
    b = report({"TextQA": 0.3, "MathQA": 0.3, "TRitW": None}, meteor=0.01)
    mean = eq.mean_report([a, b])["tasks"]
    assert mean["TextQA"]["score"] == pytest.approx(0.2)
    assert mean["MathQA"]["score"] == pytest.approx(0.25)
    assert mean["MathQA"]["components"]["exact"] == pytest.approx(0.25)
    assert mean["TRitW"]["score"] is None  # one seed lacks it: no mean
    assert mean["ImageCaptioning"]["score"] is None
    assert mean["ImageCaptioning"]["components"] == {"clip": None, "meteor": pytest.approx(0.005)}


def test_table_marks_thresholds_and_shows_components_of_uncomputed_tasks():
    table = eq.markdown_table([("demo", report({"TextQA": 0.56, "MathQA": 0.2}, meteor=0.78))])
    row = table.splitlines()[3]
    assert row.startswith("| demo | **0.560** | 0.200 |")  # TextQA passes 0.2, MathQA misses 0.25
    assert "n/a (meteor 0.780)" in row
    assert row.endswith("| 1 of 2 scored |")


def test_constant_system_end_to_end(tmp_path):
    heldout = tmp_path / "heldout"
    eq.main(["--heldout", str(heldout), "--per-task", "2", "--constant", "a", "--work", str(tmp_path / "work"),
             "--out", str(tmp_path / "table.md"), "--json", str(tmp_path / "reports.json")])
    assert (heldout / "input.json").is_file()  # made on demand
    table = (tmp_path / "table.md").read_text(encoding="utf-8")
    assert "| constant 'a' |" in table
    reports = json.loads((tmp_path / "reports.json").read_text(encoding="utf-8"))
    assert reports["constant 'a'"]["tasks"]["TRitW"]["score"] == 0.0  # one letter is no sign word


def test_repeated_random_seed_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        eq.main(["--heldout", str(tmp_path / "h"), "--random-like", str(tmp_path), "--random-seeds", "1", "1"])
    assert "each seed once" in capsys.readouterr().err
    assert not (tmp_path / "h").exists()  # refused before anything was made
