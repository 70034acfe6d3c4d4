"""Every evaluator command survives its console: cp1251 and ASCII terminals, an emoji team name;
result files are on disk before anything is printed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator.cli import main

REPO = Path(__file__).resolve().parents[2]


def evaluator(args, encoding):
    """`python -m evaluator ARGS` with a console of `encoding` (PYTHONIOENCODING, strict like a terminal)."""
    env = dict(os.environ, PYTHONIOENCODING=encoding, PYTHONPATH=str(REPO))
    env.pop("PYTHONUTF8", None)
    return subprocess.run([sys.executable, "-m", "evaluator", *args], cwd=REPO, env=env, capture_output=True,
                          timeout=300)


def shared(fbc2_set):
    return ["--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path), "--quiet"]


@pytest.mark.parametrize(("encoding", "plus_minus"), [("ascii", "\\xb1"), ("cp1251", "\u00b1")])
def test_score_on_an_ascii_or_cp1251_console(fbc2_set, tmp_path, encoding, plus_minus):
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    report = tmp_path / "report.json"
    done = evaluator(["score", *shared(fbc2_set), "--input", str(fbc2_set.input_path), "--predictions",
                      str(predictions), "--json", str(report)], encoding)
    assert done.returncode == 0, done.stderr.decode(encoding, "replace")[-400:]
    shown = done.stdout.decode(encoding)  # the bytes are valid in the console's encoding
    assert f"Integral score S = 0.2667 {plus_minus} 0.0000" in shown  # ASCII: '±' escaped, not a crash
    assert json.loads(report.read_text(encoding="utf-8"))["integral"] == pytest.approx(4 / 15)


def test_leaderboard_on_cp1251_with_an_emoji_team_name(fbc2_set, tmp_path):
    folder = tmp_path / "teams" / "rocket"
    fbc2_set.write_predictions(fbc2_set.perfect_predictions("teams/rocket"), "teams/rocket")
    (folder / "name.txt").write_text("Команда \U0001f680\n", encoding="utf-8")
    outputs = {flag: tmp_path / f"board.{flag[2:]}" for flag in ("--csv", "--json", "--markdown", "--html")}
    args = ["leaderboard", *shared(fbc2_set), str(folder)]
    for flag, path in outputs.items():
        args += [flag, str(path)]
    done = evaluator(args, "cp1251")
    assert done.returncode == 0, done.stderr.decode("cp1251", "replace")[-400:]
    shown = done.stdout.decode("cp1251")
    assert "Команда \\U0001f680" in shown  # Cyrillic printed as is, the emoji escaped
    assert all(path.is_file() for path in outputs.values())
    board = json.loads(outputs["--json"].read_text(encoding="utf-8"))
    assert board["entries"][0]["name"] == "Команда \U0001f680"  # the files keep the real name


class GoneConsole:
    """A console that fails on every write (a closed pipe)."""
    encoding = "utf-8"

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass


def test_result_files_are_written_before_anything_is_printed(fbc2_set, tmp_path, monkeypatch):
    predictions = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    report, page = tmp_path / "report.json", tmp_path / "report.html"
    monkeypatch.setattr(sys, "stdout", GoneConsole())
    with pytest.raises(BrokenPipeError):
        main(["score", *shared(fbc2_set), "--input", str(fbc2_set.input_path), "--predictions", str(predictions),
              "--json", str(report), "--html", str(page)])
    assert report.is_file() and page.is_file()

    folder = fbc2_set.root / "teams" / "a"
    fbc2_set.write_predictions(fbc2_set.perfect_predictions("teams/a"), "teams/a")
    board = tmp_path / "board.csv"
    with pytest.raises(BrokenPipeError):
        main(["leaderboard", *shared(fbc2_set), str(folder), "--csv", str(board)])
    assert board.is_file()
