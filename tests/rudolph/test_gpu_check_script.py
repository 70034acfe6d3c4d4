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
                          timeout=900)
    log = (tmp_path / "gpu_check.log").read_text()
    assert done.returncode == 0, log[-3000:]
    for heading in ("2. decoding at the tiny shapes", "3. greedy ids, fp32", "5. run.py on sample_input/", "=== done"):
        assert heading in log
    assert "failed:" not in log and "Traceback" not in log, log[-3000:]
    # fp32: the static and graph steps give the cached path's greedy ids.
    assert "first 16 image tokens in 8/8 rows, first 10 right-text tokens in 8/8 rows" in log
    assert "predictions.json: 120 ids, 60 images written" in log
