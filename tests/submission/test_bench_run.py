"""scripts/bench_run.py: per-phase rates from run.py's RunStats and a wall-time estimate."""

import re
from collections import Counter
from types import SimpleNamespace

import bench_run
import pytest


def test_estimate_scales_each_phase_by_the_mix():
    stats = SimpleNamespace(seconds={"prepare": 0.0, "encode": 1.0, "answer": 2.0, "image": 3.0},
                            samples=Counter(encode=3, answer=6, image=3))
    result = bench_run.estimate(stats, n_input=6, wall=10.0, n_target=60)
    assert result["fixed"] == pytest.approx(4.0)  # 10 s wall minus 6 s in the phases
    assert result["estimate"] == pytest.approx(4.0 + 60.0)  # every phase scaled x10
    rows = {r["phase"]: r for r in result["rows"]}
    assert rows["encode"]["rate"] == pytest.approx(3.0) and rows["encode"]["share"] == pytest.approx(0.5)
    assert rows["answer"]["rate"] == pytest.approx(3.0) and rows["image"]["rate"] == pytest.approx(1.0)
    assert rows["prepare"]["rate"] is None


def table(out: str) -> dict[str, tuple[int, float]]:
    rows = re.findall(r"^(encode|answer|image)\s+(\d+)\s+([\d.]+)", out, re.M)
    return {phase: (int(n), float(s)) for phase, n, s in rows}


def test_bench_on_a_small_set(tiny_weights, small_input, capsys):
    argv = ["--input", str(small_input / "input.json"), "--weights", str(tiny_weights), "--device", "cpu",
            "--estimate-samples", "600"]
    assert bench_run.main(argv) == 0
    out = capsys.readouterr().out
    rows = table(out)
    assert {p: n for p, (n, _) in rows.items()} == {"encode": 3, "answer": 6, "image": 3}
    assert all(seconds > 0 for _, seconds in rows.values())
    fixed = float(re.search(r"fixed cost .*: ([\d.]+) s", out).group(1))
    estimate = float(re.search(r"estimate for 600 samples of this mix: (\d+) s", out).group(1))
    # 600 samples = 100 times the 6 measured ones (prepare is under 0.01 s here).
    assert estimate == pytest.approx(fixed + 100 * sum(s for _, s in rows.values()), abs=3)
    assert re.search(r"samples that fit in 16800 s: about \d+", out)


def test_arguments_after_the_separator_reach_run_py(tiny_weights, small_input, capsys):
    argv = ["--input", str(small_input / "input.json"), "--weights", str(tiny_weights), "--device", "cpu",
            "--", "--no-images"]
    assert bench_run.main(argv) == 0
    assert table(capsys.readouterr().out)["image"] == (0, 0.0)
