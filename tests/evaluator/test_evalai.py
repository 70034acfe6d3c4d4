"""The EvalAI entry point, called the way EvalAI's submission worker calls a challenge's script."""

import contextlib
import importlib
import io
import json
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from evaluator import evalai
from evaluator.errors import InputError
from evaluator.options import ScoreOptions
from evaluator.scoring.score import score_files


def zip_folders(path: Path, folders: list[tuple[str, Path]], extra: dict[str, bytes] | None = None) -> Path:
    """A ZIP of folders merged under top folders, as a host or a participant would pack them."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for prefix, folder in folders:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    archive.write(file, f"{prefix}{file.relative_to(folder)}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def challenge(fbc2_set, tmp_path, monkeypatch):
    """A worker's compute folder with challenge_data/challenge_1 as a package whose __init__.py is
    the host's one line, and the phase's annotation ZIP (ground truth, sample ids, input, images)."""
    package = tmp_path / "compute" / "challenge_data" / "challenge_1"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from evaluator.evalai import evaluate  # noqa: F401\n")
    monkeypatch.syspath_prepend(str(tmp_path / "compute"))
    for name in [m for m in sys.modules if m.startswith("challenge_data")]:
        monkeypatch.delitem(sys.modules, name)
    annotation = zip_folders(tmp_path / "test_annotations.zip",
                             [("fbc2/", fbc2_set.root / "gt"), ("fbc2/", fbc2_set.root / "input")],
                             {"fbc2/evalai.json": json.dumps({"splits": {"dev": "public"}}).encode()})
    return importlib.import_module("challenge_data.challenge_1"), annotation


def worker_call(module, annotation, submission, phase="dev"):
    """The worker's call (stdout and stderr redirected, metadata as keyword) and its success test."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        output = module.evaluate(str(annotation), str(submission), phase,
                                 submission_metadata={"participant_team_name": "Test Team", "id": 123})
    assert "result" in output
    for split_result in output["result"]:
        split = list(split_result.keys())[0]
        assert all(isinstance(v, (int, float)) for v in split_result[split].values())
    json.dumps(output["submission_result"], allow_nan=False)  # the worker stores it with json.dumps
    return output, stdout.getvalue()


def test_a_zipped_submission_scores_as_the_command_line_does(fbc2_set, challenge, tmp_path):
    module, annotation = challenge
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    submission = zip_folders(tmp_path / "submission.zip", [("output/", predictions.parent)])
    output, printed = worker_call(module, annotation, submission)
    expected = score_files(str(fbc2_set.gt_path), str(predictions), str(fbc2_set.task_ids_path),
                           input_path=str(fbc2_set.input_path), options=ScoreOptions(progress=False, extras=False))
    [result] = output["result"]
    assert list(result) == ["public"]  # the split evalai.json names for phase "dev"
    scores = result["public"]
    assert scores["S"] == pytest.approx(expected.integral) == pytest.approx(4 / 15)
    computed = {name for name, task in expected.tasks.items() if task.score is not None}
    assert computed == {"TextQA", "MathQA", "VisualQA", "TRitW"}
    assert set(scores) == {"S", "missing", "malformed", "partial"} | computed  # not computed: no label ("#")
    assert scores["partial"] == 1 and scores["missing"] == 0 and scores["malformed"] == 0
    assert output["submission_result"]["not_computed"] == expected.not_computed
    assert '"public"' in printed


def test_a_bare_predictions_json_and_a_folder_annotation(fbc2_set, challenge, tmp_path):
    module, _ = challenge
    folder = tmp_path / "annotation"
    shutil.copytree(fbc2_set.root / "gt", folder)
    shutil.copytree(fbc2_set.root / "input", folder, dirs_exist_ok=True)
    predictions = fbc2_set.write_predictions({"0": [{"type": "text", "content": "a Толстой"}]})
    output, _ = worker_call(module, folder, predictions, phase="test")
    scores = output["result"][0]["test"]  # no evalai.json: the split is the phase codename
    assert scores["missing"] == 11 and scores["TextQA"] == pytest.approx(0.5)


def test_error_bars_go_to_error(fbc2_set, challenge, tmp_path):
    module, annotation = challenge
    half = {sid: v for sid, v in fbc2_set.perfect_predictions().items() if sid in {"0", "2", "8", "10"}}
    predictions = fbc2_set.write_predictions(half)
    submission = zip_folders(tmp_path / "s.zip", [("", predictions.parent)])
    output, _ = worker_call(module, annotation, submission)
    expected = score_files(str(fbc2_set.gt_path), str(predictions), str(fbc2_set.task_ids_path),
                           input_path=str(fbc2_set.input_path), options=ScoreOptions(progress=False, extras=False))
    errors = output["error"][0]["public"]
    # TextQA's two samples score 1 and 0: the bootstrap's resampled means are 0, 0.5, 1 (sd about 0.354)
    assert errors["TextQA"] == pytest.approx(expected.tasks["TextQA"].stderr) == pytest.approx(0.354, abs=0.02)
    assert errors["S"] == pytest.approx(expected.integral_stderr)


def test_predictions_of_another_input_fail_the_submission(fbc2_set, challenge, tmp_path):
    module, annotation = challenge
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    (predictions.parent / "run_state.json").write_text(json.dumps({"fingerprint": {"input.json": "0" * 16}}))
    submission = zip_folders(tmp_path / "s.zip", [("output/", predictions.parent)])
    with pytest.raises(InputError, match="the predictions answer another input"):
        worker_call(module, annotation, submission)


@pytest.mark.parametrize(("entry", "reason"), [("../evil.json", "leaves the archive's folder"),
                                               ("/abs/predictions.json", "leaves the archive's folder")])
def test_hostile_submission_archives_fail_with_one_line(fbc2_set, challenge, tmp_path, entry, reason):
    module, annotation = challenge
    submission = tmp_path / "s.zip"
    with zipfile.ZipFile(submission, "w") as archive:
        archive.writestr("predictions.json", "{}")
        archive.writestr(zipfile.ZipInfo(entry), "{}")
    with pytest.raises(InputError, match=reason):
        worker_call(module, annotation, submission)
    assert not (tmp_path / "evil.json").exists()


def test_a_link_entry_and_an_unknown_phase_fail(fbc2_set, challenge, tmp_path):
    module, annotation = challenge
    submission = tmp_path / "s.zip"
    with zipfile.ZipFile(submission, "w") as archive:
        link = zipfile.ZipInfo("predictions.json")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(InputError, match="is a symbolic link"):
        worker_call(module, annotation, submission)
    predictions = fbc2_set.write_predictions({})
    with pytest.raises(InputError, match="phase 'final' has no split in evalai.json"):
        worker_call(module, annotation, predictions, phase="final")


def test_extraction_is_bounded(tmp_path, monkeypatch):
    archive_path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.bin", b"\0" * 6000)
        archive.writestr("b.bin", b"\0" * 6000)
    monkeypatch.setattr(evalai, "MAX_TOTAL_BYTES", 10_000)
    with pytest.raises(InputError, match="over 10000 bytes once extracted"):
        evalai.extract_zip(str(archive_path), str(tmp_path / "out"), "submission")
    monkeypatch.setattr(evalai, "MAX_ENTRY_BYTES", 5000)
    with pytest.raises(InputError, match="entry 'a.bin' is over 5000 bytes"):
        evalai.extract_zip(str(archive_path), str(tmp_path / "out2"), "submission")


def test_what_evaluate_prints_survives_an_ascii_log_file(fbc2_set, challenge, tmp_path):
    """The worker redirects stdout to a file opened in the locale's encoding (ASCII in a bare container)."""
    module, annotation = challenge
    predictions = fbc2_set.write_predictions({"0": [{"type": "text", "content": "a Толстой"}], "кот": []})
    log = tmp_path / "temp_stdout.txt"
    with open(log, "a+", encoding="ascii") as stdout, contextlib.redirect_stdout(stdout):
        output = module.evaluate(str(annotation), str(predictions), "dev")
    printed = log.read_text(encoding="ascii")
    assert '"public"' in printed and output["result"][0]["public"]["missing"] == 11
    assert "(e.g. \\u043a\\u043e\\u0442)" in printed  # the unknown id 'кот', escaped
