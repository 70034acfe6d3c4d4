"""Documented commands start quietly (library warnings and chatter only with --verbose) and write plain
progress lines, without carriage returns, when their output is not a terminal."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers.scripts import load_script

from fbc2_tools.quiet import PlainProgress, quiet_output
from training.cli import FINE_TUNE_LR, build_parser, learning_rate

ROOT = Path(__file__).resolve().parents[2]


def script(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("name", ["train.py", "init_weights.py", "train_bpe.py", "fetch_weights.py"])
def test_help_prints_no_library_warning(name):
    proc = script(f"scripts/{name}", "--help")
    assert proc.returncode == 0 and "usage:" in proc.stdout
    assert proc.stderr == ""


@pytest.mark.slow
def test_init_weights_hides_youtokentome_unless_verbose(tmp_path):
    quiet = script("scripts/init_weights.py", "--config", "tiny", "--out", tmp_path / "a")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.splitlines()[0].startswith("training BPE (")
    assert len(quiet.stdout.splitlines()) == 3
    loud = script("scripts/init_weights.py", "--config", "tiny", "--out", tmp_path / "b", "--verbose")
    assert loud.returncode == 0
    assert "Training parameters" in loud.stderr + loud.stdout  # what quiet_output kept out of the log


def test_quiet_output_replays_what_it_captured_when_the_block_fails(capfd):
    with quiet_output():
        os.write(2, b"chatter of a block that works\n")
    with pytest.raises(RuntimeError), quiet_output():
        os.write(1, b"the reason it failed\n")
        raise RuntimeError("boom")
    err = capfd.readouterr().err
    assert "chatter" not in err and "the reason it failed" in err


def test_plain_progress_writes_lines_and_the_final_count_once(monkeypatch):
    clock = iter([0.0, 10.0, 31.0, 40.0, 45.0])
    monkeypatch.setattr("fbc2_tools.quiet.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    bar = PlainProgress("train", 3, file=out)  # start at 0
    bar.update()  # 10 s: nothing
    bar.set_postfix_str("loss=1.000")
    bar.update()  # 31 s: a line
    bar.update()  # 40 s: nothing
    bar.close()  # 45 s: the final count
    assert out.getvalue() == "train: 2/3, loss=1.000, 31 s\ntrain: 3/3, loss=1.000, 45 s\n"


@pytest.mark.slow
def test_a_training_log_has_plain_lines_no_deepspeed_chatter_and_the_fine_tuning_rate(tiny_weights, tmp_path):
    out = tmp_path / "run"
    proc = script("scripts/train.py", "--weights", tiny_weights, "--synthetic-per-task", "2", "--tasks", "TextQA",
                  "--micro-batch", "1", "--max-steps", "3", "--out", out, "--threads", "1", "--no-eco2ai")
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stdout and proc.stderr == ""
    assert "DeepSpeed" not in proc.stdout and "[WARNING]" not in proc.stdout
    lines = proc.stdout.splitlines()
    assert lines[-2].startswith("train: 3/3, loss=")
    rates = [json.loads(line)["lr"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert len(rates) == 3 and max(rates) == pytest.approx(FINE_TUNE_LR)  # the warm-up peaks at the rate


@pytest.mark.parametrize(("argv", "expected"), [
    (["--weights", "w", "--out", "o"], FINE_TUNE_LR),  # fine-tuning trained weights
    (["--weights", "w", "--out", "o", "--lr", "1e-3"], 1e-3),
    (["--config", "tiny", "--out", "o"], None),  # from scratch: the DeepSpeed config's rate
])
def test_the_learning_rate_default(argv, expected):
    assert learning_rate(build_parser().parse_args(argv)) == expected


def test_bench_run_shows_run_py_progress_unless_asked_not_to(monkeypatch, capsys):
    bench_run = load_script("bench_run")
    seen = []

    def fake_run(run_argv):
        seen.append(run_argv)
        out = Path(run_argv[run_argv.index("--output") + 1])
        (out / "predictions.json").write_text("{}")
        return 0, SimpleNamespace(seconds={}, samples={}, levels=[]), 1, 1.0

    monkeypatch.setattr(bench_run, "run_and_capture", fake_run)
    assert bench_run.main([]) == 0
    assert bench_run.main(["--no-progress"]) == 0
    assert "--no-progress" not in seen[0] and "--no-progress" in seen[1]
    assert "bench_run: running run.py on" in capsys.readouterr().err
