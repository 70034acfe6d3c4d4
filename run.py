#!/usr/bin/env python3
"""FBC2 container entry point: answer every sample of input.json with one RUDOLPH pipeline.

Reads ../input/input.json (images relative to it) and writes ./output/predictions.json and
./output/images/, as the FusionBrain Challenge 2.0 platform expects. Every input id always gets at
least a text answer: the file is complete from the first second, rewritten atomically as work
finishes, and the time-budget guard degrades (no images, then short answers, then option scoring
only) so that the run ends inside --time-budget. Needs no network.

Examples:
  python3 run.py                                                   # the contract defaults
  python3 run.py --input sample_input/input.json --output out --weights weights/tiny
  torchrun --nproc_per_node 2 run.py --input ... --output out       # shard over 2 processes/GPUs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_WEIGHTS = ROOT / "weights" / "demo"
DEFAULT_BUDGET = 5 * 3600 - 20 * 60  # 5 h platform limit minus 20 min for loading and margin
DEVICE_RE = re.compile(r"auto|cpu|cuda(:\d+)?|mps")
ANSWER_OPTIONS = ("weights", "options", "text_only_image", "max_answer_tokens", "answer_sampling", "seed")


class Interrupted(BaseException):
    """SIGTERM: not an Exception, so that no per-sample isolation swallows it."""


class OneLineParser(argparse.ArgumentParser):
    """Every usage mistake is one ``run.py:`` line on stderr and exit 2."""

    def error(self, message):
        fail(f"{message} (see --help)")


@dataclass
class RunOutcome:
    """What one run did: the exit code, the pipeline's RunStats (None if the model never ran),
    how many samples this process answered, and why it stopped early (None if it did not)."""

    code: int
    stats: object | None
    n_samples: int
    interrupted: str | None


def parse_args(argv=None) -> argparse.Namespace:
    p = OneLineParser(prog="run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    io = p.add_argument_group("files")
    io.add_argument("--input", type=Path, default=Path("../input/input.json"), help="FBC2 input.json (default: %(default)s)")
    io.add_argument("--output", type=Path, default=Path("output"), help="output folder (default: %(default)s)")
    io.add_argument("--weights", type=Path, default=None,
                    help=f"weights directory (README, 'Weights directory'); default: {DEFAULT_WEIGHTS.relative_to(ROOT)}")
    io.add_argument("--resume", action="store_true", help="continue a partial run in --output (nothing lost, nothing redone)")
    io.add_argument("--overwrite", action="store_true", help="start over in an --output that already holds a run")
    io.add_argument("--save-every", type=int, default=50, help="rewrite predictions.json after this many updates (default 50)")
    run = p.add_argument_group("running")
    run.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda, cuda:1, ...")
    run.add_argument("--dtype", choices=["auto", "fp32", "fp16", "bf16"], default="auto", help="auto: fp16 on GPU, fp32 on CPU")
    run.add_argument("--batch-size", type=int, default=0,
                     help="samples per batch (default: on a GPU as many as its free memory holds after the weights, "
                          "at most 64; 4 on CPU)")
    run.add_argument("--decoding", choices=["auto", "cached", "static", "graph"], default="auto",
                     help="how decode steps run: auto = graph on a GPU (the static step replayed as a CUDA graph), "
                          "cached on CPU; static = the same step without graphs")
    run.add_argument("--time-budget", type=float, default=DEFAULT_BUDGET,
                     help=f"seconds the whole run may take (default {DEFAULT_BUDGET}, 20 min under the 5 h limit); "
                          "5%% of it, between 1 and 60 s, is kept back for the final write")
    run.add_argument("--seed", type=int, default=0, help="seed of every sampled token (default 0)")
    run.add_argument("--no-progress", action="store_true",
                     help="no progress (default: bars on a terminal, a line every 30 s in a log file)")
    run.add_argument("--fail-on-error", action="store_true",
                     help="exit 1 when anything fails once predictions.json is complete on disk (the model, the "
                          "final write, eco2AI, the rank merge); default: a warning and exit 0")
    strategy = p.add_argument_group("answer strategies")
    strategy.add_argument("--options", choices=["score", "generate"], default="score",
                          help="score: rank the given options a) b) ... by likelihood and answer the best (default); "
                               "generate: free generation as the baseline")
    strategy.add_argument("--text-only-image", choices=["zeros", "generated"], default="zeros",
                          help="image block for answering text-only samples: zeros, as fine-tuning trained them "
                               "(default), or the generated image, as the baseline")
    strategy.add_argument("--no-images", action="store_true", help="do not generate images for text-only samples")
    strategy.add_argument("--max-answer-tokens", type=int, default=0, help="cap on generated answer tokens (0 = all right-text positions)")
    strategy.add_argument("--answer-sampling", choices=["greedy", "baseline"], default="greedy",
                          help="greedy (default) or the baseline's top-k 32, top-p 0.8")
    eco = p.add_argument_group("eco2AI")
    eco.add_argument("--country", default="RU", help="ISO alpha-2 code of the electricity region (default RU)")
    eco.add_argument("--no-eco2ai", action="store_true", help="do not track emissions into output/emission.csv")
    args = p.parse_args(argv)
    if args.resume and args.overwrite:
        p.error("--resume and --overwrite exclude each other")
    if not args.time_budget > 0 or args.save_every < 1 or args.batch_size < 0 or args.max_answer_tokens < 0:
        p.error("--time-budget and --save-every must be positive; --batch-size and --max-answer-tokens not negative")
    if not DEVICE_RE.fullmatch(args.device):
        p.error(f"--device {args.device}: expected auto, cpu, cuda, cuda:N or mps")
    return args


def fail(message: str, code: int = 2):
    print(f"run.py: {message}", file=sys.stderr)
    sys.exit(code)


def warn(message: str) -> None:
    print(f"run.py: warning: {message}", file=sys.stderr)


def refuse_overwrite(output: Path, protected: dict[str, Path]) -> None:
    """--overwrite deletes files in ``output``: refuse when it is, or contains, a protected folder."""
    out = output.resolve()
    for what, folder in protected.items():
        inside = folder.resolve()
        if inside == out or out in inside.parents:
            fail(f"--overwrite refused: --output {output} is or contains the {what} folder {folder}")


def fingerprint(input_path: Path, args: argparse.Namespace, weights_dir: Path) -> dict[str, str]:
    """Hashes of input.json and of the options that change answers, for --resume to compare."""
    from solution.safe_files import read_bytes

    options = {name: str(getattr(args, name, "")) for name in ANSWER_OPTIONS}
    options["weights"] = str(weights_dir.resolve())
    return {"input.json": hashlib.sha256(read_bytes(input_path)).hexdigest()[:16],
            "answer options": hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:16]}


def pick_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        fail(f"--device {name}: {str(e).splitlines()[0]}")
    if device.type == "cuda" and not torch.cuda.is_available():
        fail(f"--device {name}: no CUDA device is available")
    return device


def choose_batch_size(model, device, dtype) -> int:
    """On a GPU, as many samples as its free memory holds now that the weights are loaded; 4 on CPU."""
    import torch

    from solution.rudolph.batching import CPU_BATCH, auto_batch_size, bytes_per_sample

    if device.type != "cuda":
        return CPU_BATCH
    free, total = torch.cuda.mem_get_info(device)
    size = torch.finfo(dtype).bits // 8
    batch = auto_batch_size(model.config, size, free)
    print(f"batch size {batch}: {free / 2**30:.1f} of {total / 2**30:.1f} GiB free after the weights, "
          f"{bytes_per_sample(model.config, size) / 2**20:.0f} MiB per sample (--batch-size to set it)", file=sys.stderr)
    return batch


def distributed():
    """(rank, world) under torchrun / the deepspeed launcher, (0, 1) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


def merge_rank_outputs(output: Path, ids: list[str], world: int) -> None:
    """Rank 0: one predictions.json and one images/ folder from every rank's folder. A rank whose
    file or images cannot be read leaves placeholders (or no image) for its samples, with a warning."""
    from solution.fbc2_input import InputFileError, read_json_file
    from solution.predictions import PREDICTIONS
    from solution.safe_files import FileProblem, atomic_write_bytes, atomic_write_json, read_bytes

    merged = {}
    for rank in range(world):
        folder = output / "ranks" / f"rank{rank}"
        try:
            part = read_json_file(folder / PREDICTIONS)
        except InputFileError as e:
            warn(f"rank {rank}: {e}; its samples keep placeholders")
            continue
        for sample_id, items in part.items():
            kept = []
            for item in items:
                if item.get("type") == "image":
                    try:
                        data = read_bytes(folder / item["content"], root=folder)
                        atomic_write_bytes(output / item["content"], data, root=output)
                    except FileProblem as e:
                        warn(f"rank {rank}: image {item['content']!r} not merged ({e})")
                        continue
                kept.append(item)
            merged[sample_id] = kept
    placeholder = [{"type": "text", "content": ""}]
    atomic_write_json(output / PREDICTIONS, {i: merged.get(i, placeholder) for i in ids}, root=output)


def print_summary(stats, store, n_samples: int, elapsed: float, interrupted: str | None, output: Path) -> None:
    answered = len(store.done["answer"])
    lines = [f"samples: {n_samples}; answered: {answered}; placeholders: {n_samples - answered}; "
             f"images generated: {len(store.done['image'])}",
             f"output: {output.resolve() / 'predictions.json'} (images in {output.resolve() / 'images'})"]
    phases = ", ".join(f"{k} {v:.1f}s/{stats.samples.get(k, 0)}" for k, v in stats.seconds.items())
    lines.append(f"time: {elapsed:.1f}s in all; by phase (seconds/samples): {phases or 'none'}")
    if getattr(stats, "decoding", None):
        lines.append(stats.decoding)
    if stats.levels:
        lines.append("time budget degraded: " + ", ".join(f"'{level}' at {t}s" for t, level in stats.levels))
    if stats.warnings:
        lines.append("warnings: " + ", ".join(f"{k} x{v}" for k, v in stats.warnings.most_common()))
    if interrupted:
        lines.append(f"interrupted ({interrupted}): the file holds everything finished before it")
    print("\n".join(lines), file=sys.stderr)


def main(argv=None) -> int:
    return execute(argv).code


def execute(argv=None) -> RunOutcome:
    """The whole run; ``main`` returns its exit code, benchmarks read its statistics."""
    args = parse_args(argv)
    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # library warnings (eco2AI's pandas, torch, ...) are not the run's
        return _execute(args, started)


@dataclass
class Run:
    """What the steps of one run share: the arguments, this process's part of the samples, and the
    failures met once predictions.json is complete (warnings, exit 0 unless --fail-on-error)."""

    args: argparse.Namespace
    started: float
    weights_dir: Path
    ids: list  # every input id, in input order
    samples: list  # this process's samples
    device: object
    rank: int = 0
    world: int = 1
    failures: list = field(default_factory=list)

    @property
    def out_dir(self) -> Path:
        return self.args.output if self.world == 1 else self.args.output / "ranks" / f"rank{self.rank}"

    def failed(self, what: str, error: BaseException | None = None, trace: bool = False) -> None:
        self.failures.append(what)
        detail = ":\n" + traceback.format_exc() if trace else f" ({type(error).__name__}: {error})"
        warn(f"{what}; predictions.json keeps every answer made before it{detail}")


def _execute(args: argparse.Namespace, started: float) -> RunOutcome:
    parsed, weights_dir = check_arguments(args)
    rank, world, device = start_processes(args)
    run = Run(args, started, weights_dir, [s.id for s in parsed.samples], parsed.samples[rank::world], device,
              rank, world)
    store = open_output(run)
    # From here on a complete predictions.json is on disk: a failure is a warning (exit 0) unless
    # --fail-on-error, and every answer made so far is kept.
    tracker = start_emissions(run)
    stats, interrupted = answer_samples(run, store)
    finish_output(run, store, tracker)
    if stats is not None:
        print_summary(stats, store, len(run.samples), time.monotonic() - started, interrupted, args.output)
    return RunOutcome(1 if run.failures and args.fail_on_error else 0, stats, len(run.samples), interrupted)


def check_arguments(args: argparse.Namespace):
    """The input file, the weights and the output folder, each refused with one line (exit 2) when unusable."""
    from solution.fbc2_input import InputFileError, read_input
    from solution.weights import WeightsError, resolve_weights

    try:
        parsed = read_input(args.input, load_images=False)
    except InputFileError as e:
        fail(str(e))
    weights_dir = args.weights or DEFAULT_WEIGHTS
    if args.weights is None and not DEFAULT_WEIGHTS.is_dir():
        fail(f"the default weights directory {DEFAULT_WEIGHTS} is missing: pass --weights DIR (README, "
             "'Weights directory'), or restore it with `bash scripts/train_demo.sh`")
    if args.output.exists() and not args.output.is_dir():
        fail(f"--output {args.output} is a file, not a folder")
    try:
        resolve_weights(weights_dir)
    except (WeightsError, ValueError) as e:
        fail(str(e))
    if args.overwrite:
        refuse_overwrite(args.output, {"input": args.input.parent, "weights": weights_dir})
    return parsed, weights_dir


def start_processes(args: argparse.Namespace):
    """(rank, world, device): one process, or one of several under torchrun (a GPU each where there are GPUs)."""
    import torch

    rank, world = distributed()
    device = pick_device(args.device)
    if world > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def open_output(run: Run):
    """The prediction store, after --overwrite or --resume, with a complete predictions.json on disk
    (and, with several processes, the merged one)."""
    import torch

    from solution.predictions import STATE, PredictionStore, ResumeMismatch
    from solution.safe_files import FileProblem

    args = run.args
    if (run.out_dir / STATE).exists() and not (args.resume or args.overwrite):
        fail(f"{run.out_dir} already holds a run: pass --resume to continue it or --overwrite to start over")
    if args.overwrite and args.output.exists() and run.rank == 0:
        for name in ("predictions.json", STATE, "images", "ranks"):
            target = args.output / name
            shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink(missing_ok=True)
    if run.world > 1:
        torch.distributed.barrier()
    try:
        marks = fingerprint(args.input, args, run.weights_dir)
    except FileProblem as e:
        fail(f"{args.input}: {e}")
    store = PredictionStore(run.out_dir, [s.id for s in run.samples], save_every=args.save_every, fingerprint=marks)
    try:
        resumed = store.load_previous() if args.resume else 0
    except ResumeMismatch as e:
        fail(str(e))
    try:
        store.save()  # a complete file before anything else can go wrong
        if run.world > 1:  # ... and, from every rank's file, the merged one
            torch.distributed.barrier()
            if run.rank == 0:
                merge_rank_outputs(args.output, run.ids, run.world)
    except FileProblem as e:
        fail(f"cannot write the output: {e}")
    if resumed:
        print(f"resuming: {resumed} samples already have work in {run.out_dir}", file=sys.stderr)
    return store


def start_emissions(run: Run):
    """The eco2AI tracker (rank 0 only), or None; tracking that cannot start is a warning."""
    if run.args.no_eco2ai or run.rank != 0:
        return None
    from solution.emissions import start_tracker

    try:
        return start_tracker("fbc2-inference", f"run.py on {len(run.ids)} samples, weights {run.weights_dir.name}",
                             run.args.output / "emission.csv", run.args.country)
    except Exception as e:  # emissions are a report, never a reason to lose the run
        warn(f"eco2AI tracking off ({e})")
        return None


def run_settings(args: argparse.Namespace):
    from solution.pipeline import RunSettings
    from solution.rudolph import BASELINE_TEXT_SAMPLING, GREEDY

    return RunSettings(
        batch_size=args.batch_size, decoding=args.decoding,
        text_only_image=args.text_only_image, answer_mode=args.options, generate_images=not args.no_images,
        max_answer_tokens=args.max_answer_tokens,
        answer_sampling=GREEDY if args.answer_sampling == "greedy" else BASELINE_TEXT_SAMPLING,
        seed=args.seed, progress=not args.no_progress)


def answer_samples(run: Run, store):
    """Load the weights and run the pipeline within the time budget; (RunStats or None, why it was
    interrupted or None). SIGTERM stops it with every answer kept; the final write always happens."""
    import torch

    from solution.budget import Budget
    from solution.pipeline import Pipeline
    from solution.rudolph import DTYPES
    from solution.weights import WeightsError, load_weights

    def on_sigterm(signum, frame):
        raise Interrupted("SIGTERM")

    signal.signal(signal.SIGTERM, on_sigterm)
    args = run.args
    budget = Budget(seconds=args.time_budget - (time.monotonic() - run.started))
    dtype = DTYPES.get(args.dtype) or (torch.float16 if run.device.type == "cuda" else torch.float32)
    settings = run_settings(args)
    interrupted, pipeline = None, None
    try:
        weights = load_weights(run.weights_dir, device=run.device, dtype=dtype)
        settings.batch_size = settings.batch_size or choose_batch_size(weights.model, run.device, dtype)
        torch.manual_seed(args.seed)
        pipeline = Pipeline(weights, store, budget, settings)
        pipeline.run(run.samples)
    except (Interrupted, KeyboardInterrupt) as e:
        interrupted = str(e) or type(e).__name__
    except WeightsError as e:  # a damaged file of the weights directory: its name and line, no traceback
        run.failed("the weights could not be loaded", e)
    except Exception:
        run.failed("the model failed", trace=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the final write must not be cut short
        try:
            store.save()
        except Exception as e:
            run.failed("the final write of predictions.json failed", e)
    if pipeline is not None and pipeline.engine is not None:
        from solution.rudolph.generation import format_status

        pipeline.stats.decoding = format_status(pipeline.engine.status())
    return (pipeline.stats if pipeline is not None else None), interrupted


def finish_output(run: Run, store, tracker) -> None:
    """Report failed periodic writes, merge the ranks' outputs, stop eco2AI: each failure a warning."""
    import torch

    for problem in store.save_errors[:1]:
        warn(f"{len(store.save_errors)} periodic writes failed, the first: {problem}")
    if run.world > 1:
        try:
            torch.distributed.barrier()
            if run.rank == 0:
                merge_rank_outputs(run.args.output, run.ids, run.world)
            torch.distributed.destroy_process_group()
        except Exception as e:
            run.failed("merging the ranks' outputs failed", e)
    if tracker is not None:
        from solution.emissions import stop_tracker

        try:
            stop_tracker(tracker)
        except Exception as e:
            run.failed("stopping eco2AI failed", e)


if __name__ == "__main__":
    sys.exit(main())
