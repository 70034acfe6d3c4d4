"""Every command in the README's bash blocks is exercised: by CI (.ci/run) or by a named test that uses
each of its flags. A new README command, or a new flag in one, fails here until a test covers it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"
PY = ".venv/bin/python"

# program (the start of a command) -> where it is exercised: ".ci/run" or test files
EXERCISED = {
    "bash scripts/install.sh": [".ci/run"],
    "bash scripts/docker_check.sh": ["tests/submission/test_docker_check.py"],  # and .ci/run (SAMPLES=2)
    f"{PY} -m pytest -q": [".ci/run"],
    f"{PY} run.py": ["tests/run/test_run_behaviour.py", "tests/run/test_usage_and_logs.py", "tests/run/test_hardening.py"],
    f"{PY} -m evaluator score": ["tests/evaluator/test_cli.py"],
    f"{PY} -m evaluator leaderboard": ["tests/evaluator/test_cli.py", "tests/evaluator/test_reports.py"],
    f"{PY} -m evaluator co2": ["tests/evaluator/test_cli.py", "tests/evaluator/test_mistakes.py"],
    f"{PY} -m evaluator tasks": ["tests/evaluator/test_cli.py", "tests/docs/test_readme_commands.py"],
    f"{PY} scripts/fetch_weights.py": ["tests/scripts/test_fetch_weights.py"],
    f"{PY} scripts/bench_run.py": ["tests/submission/test_bench_run.py"],
    f"{PY} scripts/make_submission.py": ["tests/submission/test_make_submission.py"],
    f"{PY} scripts/check_submission.py": ["tests/submission/test_check_submission.py"],
    f"{PY} scripts/train.py": ["tests/training/test_train_runs.py", "tests/scripts/test_quiet_tools.py"],
    f"{PY} scripts/make_sample_input.py": ["tests/data/test_fonts_and_script.py"],
}
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def readme_commands() -> list[str]:
    """The commands of the README's bash blocks: continuation lines joined, `&&` chains split."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line and not line.startswith("#"):
                commands += [" ".join(part.split()) for part in line.split("&&")]
    return commands


def program_of(command: str) -> str:
    matches = [p for p in EXERCISED if command == p or command.startswith(p + " ")]
    assert matches, f"README command not exercised by any test or by .ci/run: {command}"
    return max(matches, key=len)


def test_the_readme_has_the_two_fresh_machine_commands():
    commands = readme_commands()
    assert "bash scripts/install.sh" in commands
    assert f"{PY} run.py --input sample_input/input.json --output output --overwrite" in commands
    assert f"{PY} -m pytest -q" in commands


def test_ci_runs_the_readme_test_command():
    ci_lines = [line.strip() for line in CI.read_text().splitlines()]
    assert "bash scripts/install.sh" in ci_lines and f"{PY} -m pytest -q" in ci_lines


@pytest.mark.parametrize("command", readme_commands())
def test_each_readme_command_and_each_of_its_flags_is_exercised(command):
    where = EXERCISED[program_of(command)]
    if where == [".ci/run"]:
        assert command in [line.strip() for line in CI.read_text().splitlines()]
        return
    texts = "\n".join((ROOT / path).read_text(encoding="utf-8") for path in where)
    unused = [flag for flag in FLAG.findall(command) if f'"{flag}"' not in texts]
    assert not unused, f"{command}: no test among {where} uses {unused}"


def test_the_tasks_command_of_the_readme_writes_an_editable_registry(tmp_path):
    command = next(c for c in readme_commands() if c.startswith(f"{PY} -m evaluator tasks"))
    args = command.split()[1:]  # python -m evaluator tasks --write my_tasks.json
    proc = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "Hidden1" in (tmp_path / "my_tasks.json").read_text(encoding="utf-8")
