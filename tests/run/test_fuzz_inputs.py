"""scripts/fuzz_inputs.py: random hostile inputs and the two scale runs hold every guarantee (slow; CI runs it)."""

import subprocess
import sys

import pytest
from helpers.run_entry import ROOT


@pytest.mark.slow
def test_random_hostile_inputs_hold_every_guarantee(tiny_weights):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "fuzz_inputs.py"), "--weights", str(tiny_weights),
                             "--cases", "12", "--seed", "1"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    assert "fuzz: 12 cases" in result.stdout and "0 failed" in result.stdout


@pytest.mark.slow
def test_twenty_thousand_samples_and_three_thousand_images_end_inside_the_budget(tiny_weights):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "fuzz_inputs.py"), "--weights", str(tiny_weights),
                             "--cases", "0", "--scale", "--time-budget", "30"], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    assert result.stdout.count("-> ok") == 2
