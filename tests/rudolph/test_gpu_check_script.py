"""scripts/gpu_check.sh is run where GPU minutes are scarce: its rehearsal on CPU (tiny shapes) must pass
every step here, so that a typo never costs a borrowed GPU."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_check_rehearsal_runs_every_step(tmp_path):
    env = dict(os.environ, GPU_CHECK_REHEARSAL="1", PYTHON=sys.executable, OUT=str(tmp_path))
    done = subprocess.run(["bash", "scripts/gpu_check.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1800)
    log = (tmp_path / "gpu_check.log").read_text()
    assert done.returncode == 0, log[-3000:]
    for heading in ("0. modules and versions", "2. steps, sampling", "3. run.py on 24 samples", "=== done"):
        assert heading in log
    assert "failed:" not in log and "Traceback" not in log, log[-3000:]
    # The graph rows replayed captured graphs (through the stand-in), none fell back.
    assert log.count(" graph ") == 4 and "2 CUDA graphs; attention kernel by shape: image x1" in log
    assert "fell back" not in log
    assert "baseline sampling (64, 8192)" in log and "image batch of 2" in log and "prefill of 2 x 42" in log
    assert "predictions.json: 24 ids" in log


def test_gpu_check_stops_at_the_first_failing_step(tmp_path):
    env = dict(os.environ, GPU_CHECK_REHEARSAL="1", PYTHON="false", OUT=str(tmp_path))
    done = subprocess.run(["bash", "scripts/gpu_check.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    log = (tmp_path / "gpu_check.log").read_text()
    assert done.returncode == 1
    assert "failed: exit 1" in log and "=== stopped" in log and "2. steps" not in log
