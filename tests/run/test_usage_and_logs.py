"""run.py's usage errors and logs (issue 14): one line per mistake, a log file without noise."""

import subprocess
import sys

import pytest
from helpers.run_entry import ROOT, write_input

from solution.pipeline import LineProgress


@pytest.mark.parametrize("extra,message", [
    (["--device", "gpu"], "--device gpu: expected auto, cpu, cuda, cuda:N or mps"),
    (["--batch-size", "-1"], "must be positive"),
    (["--time-budget", "nan"], "must be positive"),
    (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["--resume", "--overwrite"], "exclude each other"),
])
def test_usage_mistakes_are_one_line_and_exit_2(tmp_path, tiny_weights, run_module, capsys, extra, message):
    path = write_input(tmp_path / "in", {"a": [{"type": "text", "content": "x"}]})
    with pytest.raises(SystemExit) as info:
        run_module.main(["--input", str(path), "--output", str(tmp_path / "o"), "--weights", str(tiny_weights), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1 and err[0].startswith("run.py: ") and message in err[0], err


def test_weights_pointing_at_a_file_says_so(tmp_path, tiny_weights, run_module, capsys):
    path = write_input(tmp_path / "in", {"a": [{"type": "text", "content": "x"}]})
    with pytest.raises(SystemExit):
        run_module.main(["--input", str(path), "--output", str(tmp_path / "o"), "--weights",
                         str(tiny_weights / "config.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a file, not a weights folder" in err[0]


def test_a_piped_run_logs_plain_lines_without_library_warnings(tmp_path, tiny_weights):
    samples = {f"s{i}": [{"type": "text", "content": f"Вопрос {i}? a) да; b) нет"}] for i in range(3)}
    samples["draw"] = [{"type": "text", "content": "Нарисуй кота"}]
    path = write_input(tmp_path / "in", samples)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-W", "default", str(ROOT / "run.py"), "--input", str(path), "--output",
                             str(out), "--weights", str(tiny_weights), "--max-answer-tokens", "2"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "\r" not in result.stderr and "Warning" not in result.stderr, result.stderr
    assert result.stdout == ""  # everything the run says goes to stderr
    assert f"output: {out.resolve() / 'predictions.json'}" in result.stderr
    assert (out / "emission.csv").is_file()


def test_line_progress_prints_plain_lines(capsys):
    with LineProgress("answer", 10, every=0.0) as bar:
        bar.update(4)
        bar.update(6)
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == ["answer: 4/10 samples, 0 s", "answer: 10/10 samples, 0 s"]


def test_line_progress_says_the_final_count_once(capsys, monkeypatch):
    clock = iter([0.0, 40.0, 41.0, 80.0])  # start, an update at 40 s, one at 41 s, the exit at 80 s
    monkeypatch.setattr("solution.pipeline.time.monotonic", lambda: next(clock))
    with LineProgress("image", 2, every=30.0) as bar:
        bar.update(1)  # 40 s: a line
        bar.update(1)  # 41 s: too soon for a line
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["image: 1/2 samples, 40 s", "image: 2/2 samples, 80 s"]  # the exit says the final count
    clock = iter([0.0, 40.0, 41.0])
    with LineProgress("image", 1, every=30.0) as bar:
        bar.update(1)  # the last update prints the final count ...
    assert capsys.readouterr().err.splitlines() == ["image: 1/1 samples, 40 s"]  # ... and the exit does not repeat it


def test_a_python_without_the_packages_is_one_line_naming_the_install_command(tmp_path):
    path = write_input(tmp_path / "in", {"a": [{"type": "text", "content": "x"}]})
    # -S: this interpreter without its site-packages (torch, numpy, Pillow...), as the system python3 is
    result = subprocess.run([sys.executable, "-S", str(ROOT / "run.py"), "--input", str(path), "--output",
                             str(tmp_path / "o")], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    err = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(err) == 1, result.stderr
    assert err[0].startswith("run.py: the Python packages torch, numpy, PIL") and "bash scripts/install.sh" in err[0]
