"""The fingerprint refusal: predictions whose run_state.json names another input than the one scored."""

import json
import os
import shutil
from pathlib import Path

import pytest

import run
from evaluator.cli import main
from evaluator.errors import InputError
from evaluator.io.run_state import OtherInput, check_answers_input, input_fingerprint, recorded_fingerprint
from solution.pipeline import RunSettings
from solution.predictions import PredictionStore

REPO = Path(__file__).resolve().parents[2]


def run_py_output(folder: Path, input_path: Path, ids=("0", "1")) -> Path:
    """An output folder written the way run.py writes one: PredictionStore with run.py's fingerprint."""
    marks = run.fingerprint(input_path, RunSettings(), REPO / "weights" / "demo")
    store = PredictionStore(folder, list(ids), fingerprint=marks)
    folder.mkdir(parents=True, exist_ok=True)
    store.save()
    return folder


@pytest.fixture
def two_sets(tmp_path):
    """The sample input and a held-out copy with the same ids and one question changed."""
    sample = tmp_path / "sample" / "input.json"
    sample.parent.mkdir()
    shutil.copy(REPO / "sample_input" / "input.json", sample)
    held_out = tmp_path / "held_out" / "input.json"
    held_out.parent.mkdir()
    data = json.loads(sample.read_text(encoding="utf-8"))
    first = next(iter(data))
    data[first] = [{"type": "text", "content": "another question"}]
    held_out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return sample, held_out


def test_run_py_records_what_the_evaluator_compares(two_sets, tmp_path):
    sample, _ = two_sets
    out = run_py_output(tmp_path / "out", sample)
    assert recorded_fingerprint(str(out)) == (input_fingerprint(str(sample))[:16], None)


def test_predictions_of_the_scored_input_pass(two_sets, tmp_path):
    sample, _ = two_sets
    assert check_answers_input(str(run_py_output(tmp_path / "out", sample)), str(sample)) is None


def test_predictions_of_another_set_with_the_same_ids_are_refused(two_sets, tmp_path):
    sample, held_out = two_sets
    out = run_py_output(tmp_path / "out", sample)
    with pytest.raises(OtherInput, match=r"the predictions answer another input: .*run_state.json records input.json "
                                         r"sha256 [0-9a-f]{16}\.\.\., but --input .*held_out.*input.json is "
                                         r"[0-9a-f]{16}\.\.\."):
        check_answers_input(str(out), str(held_out))
    assert issubclass(OtherInput, InputError)  # the CLI's one error line, exit 2


def test_without_input_it_is_a_warning(two_sets, tmp_path):
    sample, _ = two_sets
    warning = check_answers_input(str(run_py_output(tmp_path / "out", sample)), None)
    assert warning.startswith("cannot check which input the predictions answer:") and "no --input was given" in warning


def test_without_run_state_there_is_nothing_to_check(tmp_path, two_sets):
    (tmp_path / "plain").mkdir()
    assert check_answers_input(str(tmp_path / "plain"), str(two_sets[0])) is None


@pytest.mark.parametrize(("content", "reason"), [
    (b"{not json", "is not JSON"),
    (b"[]", "records no input.json fingerprint"),
    (b'{"fingerprint": {"input.json": 7}}', "records no input.json fingerprint"),
    (b'{"fingerprint": {"input.json": "abc"}}', "not 16 to 64 hex digits"),
    (b'{"fingerprint": {"input.json": "\\u001b[31mXXXXXXXXXXXXXXXX"}}', "not 16 to 64 hex digits"),
])
def test_an_unusable_run_state_is_a_warning(tmp_path, two_sets, content, reason):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run_state.json").write_bytes(content)
    warning = check_answers_input(str(out), str(two_sets[0]))
    assert warning.startswith("cannot check which input the predictions answer:") and reason in warning


def test_a_planted_run_state_link_or_fifo_is_a_warning_never_a_hang(tmp_path, two_sets):
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "run_state.json")
    assert "not a regular file" in check_answers_input(str(out), str(two_sets[0]))
    os.unlink(out / "run_state.json")
    os.symlink("/etc/passwd", out / "run_state.json")
    assert "cannot check" in check_answers_input(str(out), str(two_sets[0]))


def test_a_full_length_hash_is_compared_too(tmp_path, two_sets):
    sample, held_out = two_sets
    out = tmp_path / "out"
    out.mkdir()
    (out / "run_state.json").write_text(json.dumps({"fingerprint": {"input.json": input_fingerprint(str(sample))}}))
    assert check_answers_input(str(out), str(sample)) is None
    with pytest.raises(OtherInput):
        check_answers_input(str(out), str(held_out))


# ----- in the command line -----------------------------------------------------------------------
def test_score_refuses_predictions_of_another_input_with_one_line(fbc2_set, tmp_path, capsys):

    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    other = tmp_path / "other_input.json"
    other.write_text(fbc2_set.input_path.read_text(encoding="utf-8").replace("Толстой", "Чехов"), encoding="utf-8")
    run_py_output(predictions.parent, other)  # run.py answered the other input; predictions.json is ours again
    fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    args = ["score", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
            "--predictions", str(predictions), "--quiet"]
    assert main([*args, "--input", str(fbc2_set.input_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evaluator: error: the predictions answer another input")
    assert main(args) == 0  # without --input: scored, with a warning that it could not be checked
    assert "evaluator: warning: cannot check which input the predictions answer" in capsys.readouterr().err
    run_py_output(predictions.parent, fbc2_set.input_path)
    fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    assert main([*args, "--input", str(fbc2_set.input_path)]) == 0


def test_leaderboard_refuses_a_team_that_answered_another_input(fbc2_set, tmp_path, capsys):

    other = tmp_path / "other_input.json"
    other.write_text(fbc2_set.input_path.read_text(encoding="utf-8").replace("Толстой", "Чехов"), encoding="utf-8")
    teams = []
    for name, answered in (("good", fbc2_set.input_path), ("stale", other)):
        run_py_output(fbc2_set.root / name, answered)
        fbc2_set.write_predictions(fbc2_set.perfect_predictions(name), name)
        teams.append(str(fbc2_set.root / name))
    out = tmp_path / "board.json"
    shared = ["leaderboard", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
              "--quiet", "--input", str(fbc2_set.input_path)]
    assert main([*shared, *teams, "--json", str(out)]) == 0
    entries = {e["name"]: e for e in json.loads(out.read_text(encoding="utf-8"))["entries"]}
    assert entries["good"]["rank"] == 1 and entries["good"]["error"] is None
    assert entries["stale"]["rank"] is None and entries["stale"]["error"].startswith("the predictions answer another")
    # every team answered another input: the shared --input is the likely mistake, one line and exit 2
    capsys.readouterr()
    assert main([*shared, teams[1]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evaluator: error: every team answered another input than --input")
