#!/usr/bin/env python3
"""FBC2 container entry point: answer every sample of input.json with one RUDOLPH pipeline.

Reads ../input/input.json (images relative to it) and writes ./output/predictions.json and
./output/images/, as the FusionBrain Challenge 2.0 platform expects. Every input id always gets at
least a text answer: the file is complete from the first second, rewritten atomically as work
finishes, and the time-budget guard degrades (no extra candidates, then no images, then short
answers, then option scoring only) so that the run ends inside --time-budget. Needs no network.

Examples:
  python3 run.py                                                   # the contract defaults
  python3 run.py --input sample_input --output out --weights weights/tiny
  torchrun --nproc_per_node 2 run.py --input ... --output out       # shard over 2 processes/GPUs

Launcher variables without a launcher (WORLD_SIZE that is not a number, WORLD_SIZE > 1 without
RANK, MASTER_ADDR or MASTER_PORT, a distributed set-up that fails or times out) are a warning and
the run continues as one process: a run is never lost to its environment.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
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
from typing import TYPE_CHECKING

# Only light modules here (the standard library, fbc2_io and the parts of solution/ that need neither
# torch nor numpy): torch, and every module that imports it, is imported inside the functions that
# need it, marked "torch", so that the SIGTERM handler is in before the slow import and a Python
# without the packages gets check_dependencies' one line.
from fbc2_io.console import make_console_safe
from fbc2_io.errors import UnusableFile
from fbc2_io.files import atomic_write_bytes, atomic_write_json, read_bytes
from fbc2_io.settings import add_settings, flag_values, from_args, setting
from fbc2_io.text import printable
from solution import emissions  # the module, not its functions: tests replace start_tracker and stop_tracker
from solution.budget import RESERVE_MAX, RESERVE_MIN, RESERVE_SHARE, Budget
from solution.predictions import PREDICTIONS, STATE, PredictionStore, ResumeMismatch

if TYPE_CHECKING:
    from solution.pipeline import RunSettings

ROOT = Path(__file__).resolve().parent
DEFAULT_WEIGHTS = ROOT / "weights" / "demo"
PLATFORM_LIMIT, LOAD_MARGIN = 5 * 3600, 20 * 60  # the platform's 5 h, less 20 min for loading and margin
DEFAULT_BUDGET = PLATFORM_LIMIT - LOAD_MARGIN
DEVICE_RE = re.compile(r"auto|cpu|cuda(:\d+)?|mps")
ANSWER_OPTIONS = ("weights", "options", "text_only_image", "max_answer_tokens", "answer_sampling", "seed")
NEWER_ANSWER_OPTIONS = {"answer_candidates": "1"}  # hashed only when not at this default: older runs still resume
PLACEHOLDER = [{"type": "text", "content": ""}]
DIST_TIMEOUT_SHARE, DIST_TIMEOUT_MIN, DIST_TIMEOUT_MAX = 0.1, 2.0, 600.0  # distributed set-up, inside the budget


class Interrupted(BaseException):
    """SIGTERM: not an Exception, so that no per-sample isolation swallows it."""


class StopRequests:
    """SIGTERM for the whole run, installed before any slow import.

    Until the placeholder predictions.json is on disk, and during the final write, a SIGTERM is
    remembered (``held``); from :meth:`raise_from_now` on it raises :class:`Interrupted` at once
    (a remembered one too); after the final write :meth:`release` restores the handler found at the
    start (the default action in a script, never "ignore"), so a SIGTERM then (or one remembered
    during the write) ends the process."""

    def __init__(self):
        self.pending: str | None = None
        self.raising = False
        self.previous = signal.SIG_DFL

    def install(self) -> None:
        previous = signal.signal(signal.SIGTERM, self._on_signal)
        self.previous = signal.SIG_DFL if previous in (signal.SIG_IGN, None) else previous

    def _on_signal(self, signum, frame):
        if self.raising:
            raise Interrupted("SIGTERM")
        self.pending = "SIGTERM"

    def raise_from_now(self) -> None:
        self.raising = True
        pending, self.pending = self.pending, None
        if pending:
            raise Interrupted(pending)

    def hold(self) -> None:
        self.raising = False

    def release(self) -> None:
        signal.signal(signal.SIGTERM, self.previous)
        pending, self.pending = self.pending, None
        if pending:
            signal.raise_signal(signal.SIGTERM)


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


def dtype_names() -> tuple[str, ...]:
    # solution.rudolph imports torch: read when the parser is built, after the SIGTERM handler (start-up time)
    from solution.rudolph import DTYPES

    return ("auto", *DTYPES)


@dataclass
class RunOptions:
    """run.py's own settings, beside the pipeline's (RunSettings): files, device, time budget, eco2AI."""

    input: Path = setting(Path("../input/input.json"), "FBC2 input.json, or a folder holding one (default: {default})",
                          group="files")
    output: Path = setting(Path("output"), "output folder (default: {default})", group="files")
    weights: Path | None = setting(None, "weights directory (README, 'Weights directory'); default: "
                                   f"{DEFAULT_WEIGHTS.relative_to(ROOT)}", group="files")
    resume: bool = setting(False, "continue a partial run in --output (nothing lost, nothing redone)", group="files")
    overwrite: bool = setting(False, "start over in an --output that already holds a run", group="files")
    save_every: int = setting(50, "rewrite predictions.json after this many updates (default {default})", group="files")
    device: str = setting("auto", "auto (cuda if present), cpu, cuda, cuda:1, ...", group="running")
    dtype: str = setting("auto", "auto: fp16 on GPU, fp32 on CPU", choices=dtype_names, group="running")
    time_budget: float = setting(
        DEFAULT_BUDGET, f"seconds the whole run may take (default {{default}}, {LOAD_MARGIN // 60} min under the "
        f"{PLATFORM_LIMIT // 3600} h limit); {RESERVE_SHARE:.0%} of it, between {RESERVE_MIN:g} and {RESERVE_MAX:g} s, "
        "is kept back for the final write", group="running")
    fail_on_error: bool = setting(False, "exit 1 when anything fails once predictions.json is complete on disk (the "
                                  "model, the final write, eco2AI, the rank merge); default: a warning and exit 0",
                                  group="running")
    country: str = setting(emissions.DEFAULT_COUNTRY, "ISO alpha-2 code of the electricity region (default {default})",
                           group="eco2AI")
    eco2ai: bool = setting(True, "do not track emissions into output/emission.csv", flag="--no-eco2ai", group="eco2AI")


def build_parser() -> OneLineParser:
    """run.py's command line: the flags of RunOptions and of the pipeline's RunSettings."""
    # solution.pipeline imports torch: after the SIGTERM handler and the dependency check (start-up time)
    from solution.pipeline import RunSettings

    p = OneLineParser(prog="run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_settings(p, RunOptions, RunSettings, groups=("files", "running", "answer strategies", "eco2AI"))
    return p


def parse_args(argv=None) -> tuple[RunOptions, RunSettings]:
    """The command line as run.py's options and the pipeline's settings; a mistake is one line, exit 2."""
    from solution.pipeline import RunSettings  # torch, as in build_parser

    p = build_parser()
    args = p.parse_args(argv)
    for name in ("image_candidates", "answer_candidates"):  # RunSettings would refuse them with a ValueError
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)}: expected a whole number >= 1")
    options, settings = from_args(RunOptions, args), from_args(RunSettings, args)
    if options.resume and options.overwrite:
        p.error("--resume and --overwrite exclude each other")
    if not options.time_budget > 0 or options.save_every < 1 or settings.batch_size < 0 or settings.max_answer_tokens < 0:
        p.error("--time-budget and --save-every must be positive; --batch-size and --max-answer-tokens not negative")
    if not DEVICE_RE.fullmatch(options.device):
        p.error(f"--device {options.device}: expected auto, cpu, cuda, cuda:N or mps")
    if options.input.is_dir() and (options.input / "input.json").is_file():
        options.input = options.input / "input.json"
    return options, settings


def fail(message: str, code: int = 2):
    print(f"run.py: {message}", file=sys.stderr)
    sys.exit(code)


RUNTIME_MODULES = ("torch", "numpy", "PIL", "tqdm", "safetensors")  # what the submission cannot run without


def check_dependencies() -> None:
    """One line naming the install command when this Python lacks run.py's packages (e.g. the system
    ``python3`` outside ``.venv``), instead of a traceback from the first import."""
    missing = [name for name in RUNTIME_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        fail(f"the Python packages {', '.join(missing)} are missing for {sys.executable}: run "
             "`bash scripts/install.sh` and use .venv/bin/python run.py")


def warn(message: str) -> None:
    print(f"run.py: warning: {message}", file=sys.stderr)


def refuse_overwrite(output: Path, protected: dict[str, Path]) -> None:
    """--overwrite deletes files in ``output``: refuse when it is, or contains, a protected folder."""
    out = output.resolve()
    for what, folder in protected.items():
        inside = folder.resolve()
        if inside == out or out in inside.parents:
            fail(f"--overwrite refused: --output {output} is or contains the {what} folder {folder}")


def fingerprint(input_path: Path, settings: RunSettings, weights_dir: Path) -> dict[str, str]:
    """Hashes of input.json and of the settings that change answers, for --resume to compare (by their
    flags' names, as run_state.json has always hashed them)."""
    flags = flag_values(settings)
    options = {name: str(flags.get(name, "")) for name in ANSWER_OPTIONS}
    options |= {name: str(flags[name]) for name, default in NEWER_ANSWER_OPTIONS.items() if str(flags[name]) != default}
    options["weights"] = str(weights_dir.resolve())
    return {"input.json": hashlib.sha256(read_bytes(input_path)).hexdigest()[:16],
            "answer options": hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:16]}


def pick_device(name: str):
    import torch  # torch: start-up time

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
    import torch  # torch: start-up time

    from solution.rudolph.batching import CPU_BATCH, auto_batch_size, bytes_per_sample  # torch

    if device.type != "cuda":
        return CPU_BATCH
    free, total = torch.cuda.mem_get_info(device)
    size = torch.finfo(dtype).bits // 8
    batch = auto_batch_size(model.config, size, free)
    print(f"batch size {batch}: {free / 2**30:.1f} of {total / 2**30:.1f} GiB free after the weights, "
          f"{bytes_per_sample(model.config, size) / 2**20:.0f} MiB per sample (--batch-size to set it)", file=sys.stderr)
    return batch


def launcher_ranks() -> tuple[int, int]:
    """(rank, world) under torchrun / the deepspeed launcher, (0, 1) otherwise; launcher variables
    that cannot describe a launch (see the module docstring) are a warning and (0, 1)."""
    world_text = os.environ.get("WORLD_SIZE")
    if world_text is None:
        return 0, 1
    try:
        world = int(world_text)
    except ValueError:
        world = 0
    if world < 1:
        warn(f"WORLD_SIZE={printable(world_text, 40)} is not a positive whole number: running as one process")
        return 0, 1
    if world == 1:
        return 0, 1
    rank_text = os.environ.get("RANK")
    try:
        rank = int(rank_text) if rank_text is not None else -1
    except ValueError:
        rank = -1
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name)]
    if rank_text is None:
        problem = "no RANK"
    elif not 0 <= rank < world:
        problem = f"RANK={printable(rank_text, 40)}, not one of 0..{world - 1}"
    elif missing:
        problem = "no " + " or ".join(missing)
    else:
        return rank, world
    warn(f"WORLD_SIZE={world} with {problem} (no launcher): running as one process")
    return 0, 1


def distributed_timeout(seconds_left: float) -> float:
    """Seconds the distributed set-up may wait for its peers: a share of the budget left."""
    return min(DIST_TIMEOUT_MAX, max(DIST_TIMEOUT_MIN, DIST_TIMEOUT_SHARE * seconds_left))


def merge_rank_outputs(output: Path, ids: list[str], world: int) -> None:
    """Rank 0: one predictions.json and one images/ folder from every rank's folder. A rank whose
    file or images cannot be read leaves placeholders (or no image) for its samples, with a warning."""
    from solution.fbc2_input import InputFileError, read_json_file  # torch: start-up time

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
                    except UnusableFile as e:
                        warn(f"rank {rank}: image {item['content']!r} not merged ({e})")
                        continue
                kept.append(item)
            merged[sample_id] = kept
    atomic_write_json(output / PREDICTIONS, {i: merged.get(i, PLACEHOLDER) for i in ids}, root=output)


def print_summary(stats, store, n_samples: int, elapsed: float, interrupted: str | None, output: Path) -> None:
    answered = store.on_disk.answers  # what the file on disk holds, not what was meant to be
    images = output.resolve() / "images"
    where = f" (images in {images})" if images.is_dir() else ""
    lines = [f"samples: {n_samples}; answered: {answered}; placeholders: {n_samples - answered}; "
             f"images generated: {store.on_disk.images}",
             f"output: {output.resolve() / 'predictions.json'}{where}"]
    phases = ", ".join(f"{k} {v:.1f}s/{stats.samples.get(k, 0)}" for k, v in stats.seconds.items())
    lines.append(f"time: {elapsed:.1f}s in all; by phase (seconds/samples): {phases or 'none'}")
    if stats.one_offs:
        lines.append("one-off costs (kept out of the rates): " + ", ".join(f"{k} {v:.1f}s" for k, v in stats.one_offs.items()))
    if stats.decoding:
        lines.append(stats.decoding)
    if stats.candidates:
        lines.append(stats.candidates)
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
    started = time.monotonic()
    stops = StopRequests()
    stops.install()  # before any slow import: a SIGTERM in the first seconds still leaves a complete file
    make_console_safe()
    try:
        check_dependencies()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # library warnings (eco2AI's pandas, torch, ...) are not the run's
            options, settings = parse_args(argv)
            return _execute(options, settings, started, stops)
    finally:
        stops.release()


@dataclass
class Run:
    """What the steps of one run share: the options and settings, this process's part of the samples, and
    the failures met once predictions.json is complete (warnings, exit 0 unless --fail-on-error)."""

    options: RunOptions
    settings: RunSettings
    started: float
    weights_dir: Path
    ids: list  # every input id, in input order
    samples: list  # this process's samples
    device: object = None
    rank: int = 0
    world: int = 1
    failures: list = field(default_factory=list)

    @property
    def out_dir(self) -> Path:
        return self.options.output if self.world == 1 else self.options.output / "ranks" / f"rank{self.rank}"

    def failed(self, what: str, error: BaseException | None = None, trace: bool = False) -> None:
        self.failures.append(what)
        detail = ":\n" + traceback.format_exc() if trace else f" ({type(error).__name__}: {error})"
        warn(f"{what}; predictions.json keeps every answer made before it{detail}")


def _execute(options: RunOptions, settings: RunSettings, started: float, stops: StopRequests) -> RunOutcome:
    parsed, weights_dir = check_arguments(options)
    run = Run(options, settings, started, weights_dir, [s.id for s in parsed.samples], parsed.samples)
    rank, world = launcher_ranks()
    if rank == 0:
        prepare_output(options, run.ids)  # placeholders on disk before any device or distributed set-up
    try:
        stops.raise_from_now()
        run.device = pick_device(options.device)
        run.rank, run.world = join_processes(run, rank, world)
        run.samples = parsed.samples[run.rank::run.world]
        store = open_output(run)
    except Interrupted as e:
        warn(f"interrupted ({e}) before the model started: predictions.json is complete, with placeholders "
             "for every sample not answered before")
        return RunOutcome(0, None, len(run.samples), str(e))
    # From here on a complete predictions.json is on disk: a failure is a warning (exit 0) unless
    # --fail-on-error, and every answer made so far is kept.
    tracker, stats, interrupted = None, None, None
    try:
        tracker = start_emissions(run)
        stats, interrupted = answer_samples(run, store, stops)
    except Interrupted as e:  # while eco2AI started: the file on disk is complete already
        interrupted = str(e)
    stops.release()
    finish_output(run, store, tracker)
    if stats is not None:
        print_summary(stats, store, len(run.samples), time.monotonic() - started, interrupted, options.output)
    return RunOutcome(1 if run.failures and options.fail_on_error else 0, stats, len(run.samples), interrupted)


def check_arguments(options: RunOptions):
    """The input file, the weights and the output folder, each refused with one line (exit 2) when unusable."""
    from solution.fbc2_input import InputFileError, read_input  # torch: start-up time
    from solution.weights import WeightsError, resolve_weights  # torch

    try:
        parsed = read_input(options.input, load_images=False)
    except InputFileError as e:
        fail(str(e))
    report_missing_images(parsed.samples)
    weights_dir = options.weights or DEFAULT_WEIGHTS
    if options.weights is None and not DEFAULT_WEIGHTS.is_dir():
        fail(f"the default weights directory {DEFAULT_WEIGHTS} is missing: pass --weights DIR (README, "
             "'Weights directory'), or restore it with `bash scripts/train_demo.sh`")
    if options.output.exists() and not options.output.is_dir():
        fail(f"--output {options.output} is a file, not a folder")
    try:
        resolve_weights(weights_dir)
    except (WeightsError, ValueError) as e:
        fail(str(e))
    if options.overwrite:
        refuse_overwrite(options.output, {"input": options.input.parent, "weights": weights_dir})
    return parsed, weights_dir


def report_missing_images(samples: list) -> None:
    """One line, before the model loads, for image files that are missing or refused (those samples
    are answered as text-only)."""
    problems = [w for s in samples for w in s.warnings if w.startswith(("missing image", "refused image path"))]
    if problems:
        warn(f"{len(problems)} of the input's image files are missing or refused (the first: "
             f"{printable(problems[0], 160)}); those samples are answered without their image")


def prepare_output(options: RunOptions, ids: list[str]) -> None:
    """Rank 0, before anything slow: refuse an output folder holding another run (without --resume or
    --overwrite), clear it with --overwrite, and write a predictions.json of placeholders unless a
    resumed run's file is there."""
    output = options.output
    earlier = [name for name in (STATE, "ranks") if (output / name).exists()]
    if earlier and not (options.resume or options.overwrite):
        fail(f"{output} already holds a run: pass --resume to continue it or --overwrite to start over")
    if options.overwrite and output.exists():
        for name in (PREDICTIONS, STATE, "images", "ranks", "emission.csv"):
            target = output / name
            shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink(missing_ok=True)
    if options.resume and (output / PREDICTIONS).is_file():
        return
    try:
        atomic_write_json(output / PREDICTIONS, {i: PLACEHOLDER for i in ids}, root=output)
    except UnusableFile as e:
        fail(f"cannot write the output: {e}")


def join_processes(run: Run, rank: int, world: int) -> tuple[int, int]:
    """(rank, world) once this process has joined its peers under torchrun (a GPU each where there
    are GPUs), within a timeout inside the budget; (0, 1) with a warning when that fails."""
    if world == 1:
        return 0, 1
    import datetime

    import torch  # torch: start-up time

    timeout = distributed_timeout(run.options.time_budget - (time.monotonic() - run.started))
    device = run.device
    try:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo",
                                             timeout=datetime.timedelta(seconds=timeout))
    except Exception as e:
        reason = printable(str(e).splitlines()[0] if str(e) else type(e).__name__, 160)
        warn(f"distributed set-up as rank {rank} of {world} failed within {timeout:.0f} s ({reason}): "
             "running as one process")
        if rank != 0:
            prepare_output(run.options, run.ids)
        return 0, 1
    run.device = device
    return rank, world


def open_output(run: Run):
    """The prediction store, after --resume, with a complete predictions.json on disk (and, with
    several processes, the merged one)."""
    import torch  # torch: start-up time

    options = run.options
    if run.world > 1:
        if (run.out_dir / STATE).exists() and not (options.resume or options.overwrite):
            fail(f"{run.out_dir} already holds a run: pass --resume to continue it or --overwrite to start over")
        torch.distributed.barrier()
    try:
        marks = fingerprint(options.input, run.settings, run.weights_dir)
    except UnusableFile as e:
        fail(str(e))
    store = PredictionStore(run.out_dir, [s.id for s in run.samples], save_every=options.save_every, fingerprint=marks)
    try:
        resumed = store.load_previous() if options.resume else 0
    except ResumeMismatch as e:
        fail(str(e))
    try:
        store.save()  # a complete file before anything else can go wrong
        if run.world > 1:  # ... and, from every rank's file, the merged one
            torch.distributed.barrier()
            if run.rank == 0:
                merge_rank_outputs(options.output, run.ids, run.world)
    except UnusableFile as e:
        fail(f"cannot write the output: {e}")
    if resumed:
        print(f"resuming: {resumed} samples already have work in {run.out_dir}", file=sys.stderr)
    return store


def start_emissions(run: Run):
    """The eco2AI tracker (rank 0 only), or None; tracking that cannot start is a warning."""
    if not run.options.eco2ai or run.rank != 0:
        return None
    try:
        return emissions.start_tracker("fbc2-inference", f"run.py on {len(run.ids)} samples, weights {run.weights_dir.name}",
                             run.options.output / "emission.csv", run.options.country)
    except Exception as e:  # emissions are a report, never a reason to lose the run
        warn(f"eco2AI tracking off ({e})")
        return None


def answer_samples(run: Run, store, stops: StopRequests):
    """Load the weights and run the pipeline within the time budget; (RunStats or None, why it was
    interrupted or None). SIGTERM stops it with every answer kept; the final write always happens
    (a SIGTERM during it is held until it is done)."""
    import torch  # torch: start-up time

    from solution.pipeline import Pipeline  # torch
    from solution.rudolph import DTYPES  # torch
    from solution.weights import WeightsError, load_weights  # torch

    options = run.options
    budget = Budget(seconds=options.time_budget - (time.monotonic() - run.started))
    dtype = DTYPES.get(options.dtype) or (torch.float16 if run.device.type == "cuda" else torch.float32)
    settings = run.settings
    interrupted, pipeline = None, None
    try:
        weights = load_weights(run.weights_dir, device=run.device, dtype=dtype)
        settings.batch_size = settings.batch_size or choose_batch_size(weights.model, run.device, dtype)
        torch.manual_seed(settings.seed)
        pipeline = Pipeline(weights, store, budget, settings)
        pipeline.run(run.samples)
    except (Interrupted, KeyboardInterrupt) as e:
        interrupted = str(e) or type(e).__name__
    except WeightsError as e:  # a damaged file of the weights directory: its name and line, no traceback
        run.failed("the weights could not be loaded", e)
    except Exception:
        run.failed("the model failed", trace=True)
    finally:
        stops.hold()  # the final write must not be cut short
        try:
            store.finish()  # the reserved room is released for it; images give way to answers on a full disk
        except Exception as e:
            run.failed("the final write of predictions.json failed", e)
    return (pipeline.stats if pipeline is not None else None), interrupted


def finish_output(run: Run, store, tracker) -> None:
    """Report failed periodic writes, merge the ranks' outputs, stop eco2AI: each failure a warning."""
    import torch  # torch: start-up time

    for problem in store.save_errors[:1]:
        warn(f"{len(store.save_errors)} periodic writes failed, the first: {problem}")
    if run.world > 1:
        try:
            torch.distributed.barrier()
            if run.rank == 0:
                merge_rank_outputs(run.options.output, run.ids, run.world)
            torch.distributed.destroy_process_group()
        except Exception as e:
            run.failed("merging the ranks' outputs failed", e)
    if tracker is not None:
        try:
            emissions.stop_tracker(tracker)
        except Exception as e:
            run.failed("stopping eco2AI failed", e)


if __name__ == "__main__":
    sys.exit(main())
