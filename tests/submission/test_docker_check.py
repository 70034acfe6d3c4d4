"""scripts/docker_check.sh without Docker: its structure, its failure path, and its agreement with the
Dockerfile's layout. The check itself (engine, build, run) runs in CI through .ci/run."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "docker_check.sh"
TEXT = SCRIPT.read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_the_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_the_steps_run_in_order_and_each_is_a_function_of_the_script():
    steps = re.findall(r"^step (\S+) (\S+)$", TEXT, flags=re.M)
    assert [name for name, _ in steps] == ["install", "host-run", "engine", "stand-in", "build", "run", "validate"]
    for _, function in steps:
        assert re.search(rf"^{re.escape(function)}\(\) \{{", TEXT, flags=re.M), function


def test_cleanup_is_the_exit_trap_and_stops_both_daemons_by_pid():
    assert re.search(r"^trap cleanup EXIT$", TEXT, flags=re.M)
    body = TEXT[TEXT.index("cleanup() {"):TEXT.index("trap cleanup EXIT")]
    assert 'stop_pid "$DOCKERD_PID"' in body and 'stop_pid "$CONTAINERD_PID"' in body
    assert "snapshot >" in body and "cmp -s" in body  # the machine is compared with how it was found
    assert "pkill" not in TEXT and "killall" not in TEXT


def test_the_engine_gets_no_network_of_its_own():
    for flag in ("--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false"):
        assert flag in TEXT, flag


def test_the_run_mounts_match_the_dockerfile_layout():
    """Input read-only one level above the working directory, output in ./output, no network."""
    workdir = re.findall(r"^WORKDIR (\S+)$", DOCKERFILE, flags=re.M)[-1]
    run = TEXT[TEXT.index("run_container() {"):]
    run = run[:run.index("\n}\n")]
    assert f':{os.path.dirname(workdir)}/input:ro"' in run
    assert f':{workdir}/output"' in run
    assert "--network none" in run


def test_the_build_lets_the_cpu_stand_in_through_and_the_dockerfile_requires_cuda_by_default():
    assert "--build-arg REQUIRE_CUDA=0" in TEXT
    assert re.search(r"^ARG REQUIRE_CUDA=1$", DOCKERFILE, flags=re.M)
    assert "apt-get install -y --no-install-recommends procps" in DOCKERFILE


def test_ci_runs_the_check_after_the_tests():
    lines = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    tests = next(i for i, line in enumerate(lines) if "pytest" in line)
    check = next(i for i, line in enumerate(lines) if "scripts/docker_check.sh" in line)
    assert check > tests


@pytest.mark.skipif(os.geteuid() != 0, reason="the preflight refuses a non-root user before this check")
def test_a_failed_preflight_names_its_step_and_leaves_nothing_behind(tmp_path):
    before = set(Path("/var/tmp").glob("fbc2-docker-check.*"))
    env = {**os.environ, "HOST_PYTHON": str(tmp_path / "no-python"), "CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"docker_check: FAIL in step preflight: no {tmp_path / 'no-python'}" in done.stderr
    assert "docker_check: FAIL" in done.stdout and "PASS" not in done.stdout
    assert set(Path("/var/tmp").glob("fbc2-docker-check.*")) == before
    assert not (tmp_path / "cache").exists()
