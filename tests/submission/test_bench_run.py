"""scripts/bench_run.py: per-phase rates from run.py's RunStats and a wall-time estimate."""

import re
from collections import Counter
from types import SimpleNamespace

import pytest
from helpers.scripts import load_script

bench_run = load_script("bench_run")


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


def test_bench_on_a_small_set(tiny_weights, small_input, capsys, monkeypatch):
    # The printed figures are checked against the statistics of the very run they come from, never
    # against a clock: a phase may take under 5 ms here and print as 0.00.
    runs, real_run = [], bench_run.run_and_capture

    def recorded(run_argv):
        runs.append(real_run(run_argv))
        return runs[-1]

    monkeypatch.setattr(bench_run, "run_and_capture", recorded)
    argv = ["--input", str(small_input / "input.json"), "--weights", str(tiny_weights), "--device", "cpu",
            "--estimate-samples", "600"]
    assert bench_run.main(argv) == 0
    out = capsys.readouterr().out
    (code, stats, n_input, wall), = runs
    assert (code, n_input) == (0, 6)
    rows = table(out)
    assert {p: n for p, (n, _) in rows.items()} == {"encode": 3, "answer": 6, "image": 3}
    assert {p: s for p, (_, s) in rows.items()} == {p: pytest.approx(stats.seconds[p], abs=0.005) for p in rows}
    expected = bench_run.estimate(stats, n_input, wall, 600)
    # 600 samples = 100 times the 6 measured ones: every phase's seconds x100 plus the fixed cost.
    assert expected["estimate"] == pytest.approx(expected["fixed"] + 100 * sum(stats.seconds.values()))
    fixed = float(re.search(r"fixed cost .*: ([\d.]+) s", out).group(1))
    estimate = int(re.search(r"estimate for 600 samples of this mix: (\d+) s", out).group(1))
    assert fixed == pytest.approx(expected["fixed"], abs=0.05)
    assert estimate == round(expected["estimate"])
    assert re.search(r"samples that fit in 16800 s: about \d+", out)


def test_arguments_after_the_separator_reach_run_py(tiny_weights, small_input, capsys):
    argv = ["--input", str(small_input / "input.json"), "--weights", str(tiny_weights), "--device", "cpu",
            "--", "--no-images"]
    assert bench_run.main(argv) == 0
    assert table(capsys.readouterr().out)["image"] == (0, 0.0)
