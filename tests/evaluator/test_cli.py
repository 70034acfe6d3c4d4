"""`python -m evaluator`: exit codes, one-line errors, --json schema, --strict, the other commands."""

import json
import subprocess
import sys

import pytest
from evaluator_fixtures import row, text, write_emissions

from evaluator.cli import build_parser, main, score_options
from evaluator.options import ScoreOptions


def score_args(fbc2_set, predictions_path, *extra):
    return ["score", "--input", str(fbc2_set.input_path), "--ground-truth", str(fbc2_set.gt_path),
            "--predictions", str(predictions_path), "--task-ids", str(fbc2_set.task_ids_path), "--quiet", *extra]


def test_score_json_schema_and_html(fbc2_set, tmp_path, capsys):
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    out_json, out_html = tmp_path / "r" / "report.json", tmp_path / "report.html"
    assert main(score_args(fbc2_set, predictions, "--json", str(out_json), "--html", str(out_html))) == 0
    report = json.loads(out_json.read_text(encoding="utf-8"))
    assert set(report["tasks"]) == {"TextQA", "MathQA", "ImageGeneration", "ImageCaptioning", "VisualQA", "TRitW",
                                    "Hidden1", "Hidden2", "Hidden3", "Hidden4", "Hidden5", "Hidden6"}
    for entry in report["tasks"].values():
        assert {"score", "n", "missing", "components"} <= set(entry)
    assert isinstance(report["integral"], float) and report["partial"] is True
    assert report["thresholds"]["TextQA"] is True and report["thresholds"]["ImageGeneration"] is None
    page = out_html.read_text(encoding="utf-8")
    # 2 generated + 2 ground-truth thumbnails, and the input images of the 3 text tasks on images (6)
    assert page.count("data:image/jpeg;base64,") == 4 + 6
    assert f"<title>FBC2 evaluation of {predictions} against {fbc2_set.gt_path}</title>" in page
    assert "NON-OFFICIAL" in page
    printed = capsys.readouterr().out
    assert "Integral score S = 0.2667 ± 0.0000 (PARTIAL)" in printed and "NOT COMPUTED" in printed
    assert "Prize thresholds: 4/4 scoreable pass, 2 not computed" in printed
    assert report["tasks"]["TextQA"]["stderr"] == 0.0  # every sample scores 1
    assert report["tasks"]["ImageGeneration"]["stderr"] is None
    provenance = report["provenance"]
    assert {"created_utc", "evaluator", "python", "packages", "inputs"} <= set(provenance)
    assert "commit" in provenance["evaluator"] and len(provenance["inputs"]["predictions"]["sha256"]) == 64


def test_strict_exit_code_on_problems(fbc2_set, capsys):
    predictions = fbc2_set.perfect_predictions()
    predictions["1"] = "not a list"
    del predictions["3"]
    path = fbc2_set.write_predictions(predictions)
    assert main(score_args(fbc2_set, path)) == 0
    assert main(score_args(fbc2_set, path, "--strict")) == 1
    captured = capsys.readouterr()
    assert "--strict: 2 missing or malformed predictions" in captured.err
    assert "1 missing, 1 malformed" in captured.out


@pytest.mark.parametrize("content, message", [
    ("{broken", "predictions.json: not valid JSON (line 1, column 2"),
    ("[1, 2]", "must hold a JSON object"),
    (b"\xff\xfe\x00", "not UTF-8"),
    ('{"0": ' + "[" * 100_000 + "]" * 100_000 + "}", "predictions.json: not usable JSON (nested too deeply)"),
    ('{"0": ' + "9" * 5000 + "}", "predictions.json: not usable JSON (Exceeds the limit"),
    ('{"0": [{"type": "text", "content": "\\ud800"}], "9": ' + "[" * 500 + "]" * 500 + "}", "Integral score"),
])
def test_unreadable_predictions_give_one_error_line(fbc2_set, content, message):
    path = fbc2_set.root / "output" / "predictions.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "evaluator", *score_args(fbc2_set, path)],
                            capture_output=True, text=True)
    assert "Traceback" not in result.stderr
    if message == "Integral score":  # readable file, odd samples: scored, the samples are problems
        assert result.returncode == 0 and message in result.stdout
        return
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert result.stdout == ""


def test_missing_files_and_bad_task_ids(fbc2_set, capsys):
    assert main(score_args(fbc2_set, fbc2_set.root / "nowhere.json")) == 2
    assert "predictions file not found" in capsys.readouterr().err
    fbc2_set.task_ids_path.write_text(json.dumps({"0": "TextQA"}), encoding="utf-8")
    path = fbc2_set.write_predictions({})
    assert main(score_args(fbc2_set, path)) == 2
    assert "expected an integer" in capsys.readouterr().err


def test_hidden_metric_option(fbc2_set, tmp_path):
    from evaluator_fixtures import write_json

    fbc2_set.ground_truth["12"] = text(["Вход"])
    fbc2_set.task_ids["12"] = 7
    write_json(fbc2_set.gt_path, fbc2_set.ground_truth)
    write_json(fbc2_set.task_ids_path, fbc2_set.task_ids)
    predictions = fbc2_set.perfect_predictions()
    predictions["12"] = text("Вход")
    path = fbc2_set.write_predictions(predictions)
    out = tmp_path / "r.json"
    assert main(score_args(fbc2_set, path, "--hidden-metric", "Hidden2=tritw_ned", "--json", str(out))) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["tasks"]["Hidden2"]["score"] == 1.0
    assert report["integral"] == pytest.approx(4 / 15 + 1 / 10)
    assert main(score_args(fbc2_set, path, "--hidden-metric", "Hidden2")) == 2


def test_score_with_emissions(fbc2_set, tmp_path):
    path = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    emissions = write_emissions(tmp_path / "emission.csv", [row("r", "x TargetValue", "N/A", "5", "0.1", "0.042")])
    out = tmp_path / "r.json"
    assert main(score_args(fbc2_set, path, "--emissions", emissions, "--json", str(out))) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["co2"]["target_value_co2_kg"] == pytest.approx(0.042)


def test_leaderboard_command_writes_every_format(fbc2_set, tmp_path, capsys):
    fbc2_set.write_predictions(fbc2_set.perfect_predictions("teamA"), "teamA")
    fbc2_set.write_predictions({"0": text("a")}, "teamB")
    outputs = {flag: tmp_path / f"board.{ext}" for flag, ext in
               (("--csv", "csv"), ("--markdown", "md"), ("--html", "html"), ("--json", "json"))}
    args = ["leaderboard", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
            "--quiet", str(fbc2_set.root / "teamA"), str(fbc2_set.root / "teamB")]
    for flag, path in outputs.items():
        args += [flag, str(path)]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[2].split()[:3] == ["1", "teamA", "0.2667"]
    second = outputs["--csv"].read_text(encoding="utf-8").splitlines()[2].split(",")
    assert second[:2] == ["2", "teamB"] and float(second[3]) == pytest.approx(0.5 / 15)
    assert "| 1 | teamA |" in outputs["--markdown"].read_text(encoding="utf-8")
    assert "data:image/jpeg;base64," in outputs["--html"].read_text(encoding="utf-8")
    assert json.loads(outputs["--json"].read_text(encoding="utf-8"))["baseline"] == 0.24


def test_co2_command(tmp_path, capsys):
    emissions = write_emissions(tmp_path / "emission.csv", [
        row("r", "m TargetValue", "epoch: 1, loss: 2.0, ", "10", "0.1", "0.05"),
        row("r", "m TargetValue", "epoch: 2, loss: 1.0, ", "10", "0.1", "0.07"),
    ])
    assert main(["co2", emissions, "--out-dir", str(tmp_path / "plots"), "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "total CO2: 120 g" in out and "TargetValue row (category value): CO2 70 g" in out
    assert "eco2AI power model: CPU = TDP 200 W x load; GPU = NVML readings" in out
    assert (tmp_path / "plots" / "co2_per_epoch.png").is_file() and (tmp_path / "plots" / "loss_vs_co2.png").is_file()
    assert main(["co2", str(tmp_path / "absent.csv")]) == 2


def test_tasks_command_writes_an_editable_copy(tmp_path, capsys):
    out = tmp_path / "tasks.json"
    assert main(["tasks", "--write", str(out)]) == 0
    assert "Hidden6" in capsys.readouterr().out
    assert main(["tasks", "--tasks", str(out)]) == 0


def test_help_mentions_every_command():
    result = subprocess.run([sys.executable, "-m", "evaluator", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("score", "leaderboard", "co2", "tasks"):
        assert command in result.stdout


def test_unwritable_output_is_one_error_line(fbc2_set, tmp_path, capsys):
    path = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(score_args(fbc2_set, path, "--json", str(blocker / "report.json"))) == 2
    assert "cannot write" in capsys.readouterr().err


def test_log_samples_writes_prediction_golds_and_score_per_sample(fbc2_set, tmp_path):
    predictions = fbc2_set.perfect_predictions()
    predictions["1"] = text("не знаю")
    del predictions["2"]
    path = fbc2_set.write_predictions(predictions)
    log, page = tmp_path / "samples.jsonl", tmp_path / "report.html"
    assert main(score_args(fbc2_set, path, "--log-samples", str(log), "--html", str(page), "--gallery-limit", "1")) == 0
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 12 and {line["task"] for line in lines} == {"TextQA", "MathQA", "ImageGeneration",
                                                                      "ImageCaptioning", "VisualQA", "TRitW"}
    by_id = {line["id"]: line for line in lines}
    assert by_id["0"]["prediction"] == "a Толстой" and by_id["0"]["golds"] == ["a Толстой", "a", "Толстой"]
    assert by_id["0"]["score"] == 1.0 and by_id["0"]["scores"] == {"textqa_f1": 1.0}
    assert by_id["1"]["prediction"] == "не знаю" and by_id["1"]["score"] == 0.0
    assert by_id["2"]["prediction"] is None and by_id["2"]["problem"] == "missing: no prediction"
    assert by_id["2"]["score"] == 0.0
    assert by_id["4"]["prediction"].endswith("images/4.png") and by_id["4"]["score"] is None  # no CLIP/FID
    assert by_id["4"]["prompt"] == "красный квадрат" and by_id["4"]["gold_image"].endswith("gt/images/4.png")
    html_text = page.read_text(encoding="utf-8")
    assert html_text.count("<h3>") == 6 and "TextQA: the first 1 of 2 samples" in html_text


def test_score_options_come_from_the_dataclass_once():

    base = ["score", "--ground-truth", "g", "--task-ids", "t", "--predictions", "p"]
    assert score_options(build_parser().parse_args(base)) == ScoreOptions()  # the defaults are the dataclass's
    args = build_parser().parse_args(base + ["--clip-weights", "c", "--inception-weights", "i", "--ruwordnet", "r",
                                             "--device", "cuda:1", "--no-extras", "--quiet", "--allow-id-mismatch"])
    assert score_options(args) == ScoreOptions(clip_weights="c", inception_weights="i", ruwordnet="r", device="cuda:1",
                                          extras=False, progress=False, allow_id_mismatch=True)
