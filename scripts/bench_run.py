#!/usr/bin/env python3
"""Benchmark run.py: samples per second per phase, and the wall time that N samples would take here.

Runs run.py's main in this process on an input set and a weights directory (output in a temporary
folder), reads the per-phase statistics of the pipeline (solution/pipeline.py, RunStats: seconds
and samples for encode, answer, image) and prints the rate of each phase. The estimate for N samples
assumes the task mix of the input set: each phase's share of samples (sample_input/: half the
samples have an image to encode, all are answered, half get a generated image) scaled to N, at the
measured rates, plus the fixed cost of this run (imports, loading the weights, writing files).

  python scripts/bench_run.py --input sample_input/input.json --weights weights/demo
  python scripts/bench_run.py --weights W --device cuda --estimate-samples 20000 -- --options generate

Arguments after `--` go to run.py unchanged. Times on a cold machine include one-off warm-up; run
with a larger input set for steadier rates.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import run  # noqa: E402

PHASES = ("prepare", "encode", "answer", "image")  # prepare: tokenising, tiny but it scales too
# The spec gives no size for the FBC2 private test; 10 000 samples is an assumed order of magnitude
# (the FBC1 private sets held 6 000 VQA questions and 12 556 handwriting images).
DEFAULT_ESTIMATE = 10_000


def run_and_capture(run_argv: list[str]) -> tuple[int, object, int, float]:
    """(exit code, RunStats, number of samples, wall seconds) of one in-process run.py."""
    t0 = time.monotonic()
    outcome = run.execute(run_argv)
    wall = time.monotonic() - t0
    if outcome.stats is None:
        raise SystemExit("bench_run: run.py ended without statistics (the model did not load?); see above")
    if outcome.interrupted:
        raise SystemExit(f"bench_run: the run was interrupted ({outcome.interrupted}); no benchmark")
    return outcome.code, outcome.stats, outcome.n_samples, wall


def estimate(stats, n_input: int, wall: float, n_target: int) -> dict:
    """Rates per phase and the estimated wall seconds for n_target samples of the same mix."""
    phase_seconds = sum(stats.seconds.values())
    fixed = max(0.0, wall - phase_seconds)
    rows, variable = [], 0.0
    for phase in [*PHASES, *sorted(set(stats.seconds) - set(PHASES))]:
        seconds, samples = stats.seconds.get(phase, 0.0), stats.samples.get(phase, 0)
        rate = samples / seconds if seconds > 0 else None
        share = samples / n_input if n_input else 0.0
        rows.append({"phase": phase, "samples": samples, "seconds": seconds, "rate": rate, "share": share})
        variable += seconds / n_input * n_target if n_input else 0.0
    return {"rows": rows, "fixed": fixed, "estimate": fixed + variable,
            "per_sample": (variable / n_target) if n_target else 0.0}


def hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", type=Path, default=ROOT / "sample_input" / "input.json",
                   help="FBC2 input.json to run on (default: sample_input/input.json)")
    p.add_argument("--weights", type=Path, default=None, help="weights directory (default: run.py's, weights/demo)")
    p.add_argument("--device", default="auto", help="as run.py --device (default auto)")
    p.add_argument("--batch-size", type=int, default=0, help="as run.py --batch-size (default: run.py's)")
    p.add_argument("--estimate-samples", type=int, default=DEFAULT_ESTIMATE,
                   help=f"estimate the wall time for this many samples of the input set's mix (default {DEFAULT_ESTIMATE})")
    p.add_argument("--budget", type=float, default=run.DEFAULT_BUDGET,
                   help=f"seconds available, for 'samples that fit' (default {run.DEFAULT_BUDGET}, run.py's time budget)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="hide run.py's progress (default: shown on stderr, a plain line every 30 s in a log)")
    args = p.parse_args(own)
    if args.estimate_samples < 1:
        p.error("--estimate-samples must be at least 1")

    with tempfile.TemporaryDirectory(prefix="fbc2-bench-") as out:
        run_argv = ["--input", str(args.input), "--output", out, "--device", args.device,
                    "--batch-size", str(args.batch_size), "--no-eco2ai", "--overwrite", "--fail-on-error"]
        if not args.progress:
            run_argv.append("--no-progress")
        if args.weights:
            run_argv += ["--weights", str(args.weights)]
        print(f"bench_run: running run.py on {args.input} (its progress follows on stderr)", file=sys.stderr, flush=True)
        code, stats, n_input, wall = run_and_capture(run_argv + extra)
        answered = sum(1 for items in json.loads((Path(out) / "predictions.json").read_text(encoding="utf-8")).values()
                       if any(i["type"] == "text" and i["content"] for i in items))

    result = estimate(stats, n_input, wall, args.estimate_samples)
    print(f"bench_run: {n_input} samples from {args.input} in {wall:.1f} s (run.py exit {code}); "
          f"{answered} non-empty answers")
    print(f"{'phase':<8}{'samples':>9}{'seconds':>10}{'samples/s':>11}{'share':>8}")
    for row in result["rows"]:
        rate = f"{row['rate']:.2f}" if row["rate"] is not None else "-"
        print(f"{row['phase']:<8}{row['samples']:>9}{row['seconds']:>10.2f}{rate:>11}{row['share']:>8.2f}")
    print(f"fixed cost (imports, loading, writing): {result['fixed']:.1f} s")
    print(f"estimate for {args.estimate_samples} samples of this mix: {result['estimate']:.0f} s "
          f"({hms(result['estimate'])}) on this machine")
    if result["per_sample"] > 0:
        fits = int(max(0.0, args.budget - result["fixed"]) / result["per_sample"])
        print(f"samples that fit in {args.budget:.0f} s: about {fits}")
    if stats.levels:
        print("warning: the time-budget guard degraded this run (" + ", ".join(level for _, level in stats.levels)
              + "); the rates are not those of a full run")
    if code != 0:
        print("warning: run.py exited non-zero; see its output above")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
