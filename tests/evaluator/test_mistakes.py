"""The evaluator catches the usual mix-ups with one clear line (exit 2) instead of printing a score."""

import json

import pytest
from evaluator_fixtures import image, row, text, write_emissions, write_json

from evaluator.cli import main
from evaluator.errors import InputError, SuspectedMistake
from evaluator.io.sanity import id_mismatch
from evaluator.tasks import load_registry, with_hidden_metrics


def score(fbc2_set, predictions_path, *extra, ground_truth=None, input_path=None):
    return main(["score", "--ground-truth", str(ground_truth or fbc2_set.gt_path), "--task-ids",
                 str(fbc2_set.task_ids_path), "--predictions", str(predictions_path), "--quiet",
                 *(["--input", str(input_path)] if input_path else []), *extra])


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""  # no score printed
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("evaluator: error: ")
    return lines[0]


def test_input_file_given_as_ground_truth(fbc2_set, capsys):
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    assert score(fbc2_set, predictions, ground_truth=fbc2_set.input_path) == 2
    line = one_error_line(capsys)
    # 8 of 12 samples: 6 image-input text tasks hold an image, 2 ImageGeneration samples hold text only
    assert "looks like an input file: 8 of 12 samples hold the task's input" in line


def test_same_file_as_ground_truth_and_input(fbc2_set, capsys):
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    copy = write_json(fbc2_set.root / "copy" / "gt.json", fbc2_set.ground_truth)
    assert score(fbc2_set, predictions, input_path=copy) == 2
    assert "--ground-truth and --input are the same file" in one_error_line(capsys)
    assert score(fbc2_set, fbc2_set.gt_path) == 2
    assert "--ground-truth and --predictions are the same file" in one_error_line(capsys)


def test_swapped_ground_truth_and_predictions(fbc2_set, capsys):
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    assert score(fbc2_set, fbc2_set.gt_path, ground_truth=predictions) == 2
    assert "ground truth and predictions look swapped: 10 of 10 text samples" in one_error_line(capsys)


def test_predictions_for_another_set_by_ids(fbc2_set, capsys):
    other = {str(100 + i): text("x") for i in range(30)} | {"0": text("a Толстой")}
    path = fbc2_set.write_predictions(other)
    assert score(fbc2_set, path) == 2
    line = one_error_line(capsys)
    assert "30 of 31 prediction ids are not in the ground truth" in line and "--allow-id-mismatch" in line
    assert score(fbc2_set, path, "--allow-id-mismatch", "--json", str(fbc2_set.root / "r.json")) == 0
    captured = capsys.readouterr()
    assert "scored anyway (--allow-id-mismatch)" in captured.err and "scored anyway" not in captured.out
    report = json.loads((fbc2_set.root / "r.json").read_text(encoding="utf-8"))
    assert any(w.startswith("scored anyway") for w in report["warnings"])


def test_predictions_for_another_set_with_the_same_ids(fbc2_set):
    """Ids match, but the values answer other tasks: images where text is due and text where images are."""
    shifted = {sid: text("x") if fbc2_set.task_ids[sid] == 2 else image("images/x.png") for sid in fbc2_set.ground_truth}
    for sid in ("0", "1", "2", "3", "6"):  # 5 of 12 right: still mostly wrong
        shifted[sid] = text("x")
    reason = id_mismatch(fbc2_set.ground_truth, shifted, fbc2_set.task_ids, load_registry())
    assert reason.startswith("7 of 12 predictions lack an item of their task's output type")


def test_a_partial_submission_is_not_a_mismatch(fbc2_set):
    partial = {"0": text("a"), "2": text("3")}  # few answers, all for this set
    assert id_mismatch(fbc2_set.ground_truth, partial, fbc2_set.task_ids, load_registry()) is None
    assert id_mismatch(fbc2_set.ground_truth, {}, fbc2_set.task_ids, load_registry()) is None


def test_open_task_metric_cannot_be_changed(fbc2_set, capsys):
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    assert score(fbc2_set, predictions, "--hidden-metric", "TextQA=mathqa_exact") == 2
    assert "TextQA is an open task: its official metric 'textqa_f1' cannot be changed" in one_error_line(capsys)
    with pytest.raises(InputError, match="open task"):
        with_hidden_metrics(load_registry(), {"VisualQA": "tritw_ned"})
    assert with_hidden_metrics(load_registry(), {"Hidden1": "tritw_ned"}).tasks[6].metric == "tritw_ned"


def test_a_tasks_file_changing_an_open_metric_warns(fbc2_set, capsys, tmp_path):
    registry = load_registry().to_json()
    registry["tasks"][0]["metric"] = "mathqa_exact"
    tasks = write_json(tmp_path / "tasks.json", registry)
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    assert score(fbc2_set, predictions, "--tasks", str(tasks)) == 0
    assert "sets open task TextQA's metric to 'mathqa_exact'; the official one is 'textqa_f1'" in capsys.readouterr().err


def test_loss_log_and_csv_disagreeing_on_epochs_warn(tmp_path, capsys):
    emissions = write_emissions(tmp_path / "emission.csv", [row("r", "m TargetValue", "epoch: 1, loss: 2.0, ", "10",
                                                                "0.1", "0.05")])
    (tmp_path / "loss.csv").write_text("epoch,loss\n1,2.0\n2,1.5\n3,1.2\n4,1.0\n", encoding="utf-8")
    assert main(["co2", emissions, "--loss-log", str(tmp_path / "loss.csv"), "--out-dir", str(tmp_path / "p")]) == 0
    err = capsys.readouterr().err
    assert ("the loss log has 4 epochs (1, 2, 3, 4) but the emission CSV has 1 epoch (1); only the 1 epoch(s) "
            "in both are plotted") in err


@pytest.mark.parametrize("make, reason", [
    (lambda root: root / "absent.json", "predictions file not found"),
    (lambda root: root, "is a folder, not a file"),
])
def test_wrong_predictions_path_says_what_it_is(fbc2_set, capsys, make, reason):
    assert score(fbc2_set, make(fbc2_set.root)) == 2
    assert reason in one_error_line(capsys)


def test_co2_out_dir_that_is_a_file(tmp_path, capsys):
    emissions = write_emissions(tmp_path / "emission.csv", [row("r", "TargetValue", "epoch: 1, ", "1", "0.1", "0.05")])
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    assert main(["co2", emissions, "--out-dir", str(tmp_path / "afile")]) == 2
    err = capsys.readouterr().err
    assert "--out-dir" in err and "is a file, not a folder" in err


def test_warnings_go_to_stderr(fbc2_set, capsys):
    predictions = fbc2_set.perfect_predictions()
    predictions["999"] = text("extra")  # 1 of 13 ids unknown: a warning, not an error
    assert score(fbc2_set, fbc2_set.write_predictions(predictions)) == 0
    captured = capsys.readouterr()
    assert "evaluator: warning: 1 prediction ids are not in the ground truth" in captured.err
    assert "warning" not in captured.out and "Integral score" in captured.out


def test_suspected_mistake_is_an_input_error():
    assert issubclass(SuspectedMistake, InputError)  # the CLI's one-line, exit-2 path
