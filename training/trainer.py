"""The training loop: DeepSpeed engine, per-task loss, checkpoints and resume, eco2AI, logs.

Schedule. Every epoch shuffles all examples with a permutation seeded by (seed, epoch); rank ``k``
of ``W`` takes positions ``k, k + W, ...`` (every rank gets the same count), cut into micro-batches;
an optimizer step is ``grad_accum`` micro-batches. A step count therefore fixes the epoch and the
micro-batch to continue from, so a resumed run sees exactly the batches it would have seen.

Outputs under ``--out``:

```
checkpoints/<tag>/, checkpoints/latest   DeepSpeed checkpoints (model, optimizer, scheduler, step)
weights/                                 a complete weights directory (run.py --weights), rewritten at every save
emission.csv                             eco2AI, one row per epoch (rank 0)
train_log.jsonl                          one JSON line per optimizer step (loss, per-task losses, lr, seconds)
loss_log.csv                             "epoch,loss" per epoch (python -m evaluator co2 --loss-log)
image_codes.pt                           cached VQGAN codes of the training images
train_args.json                          the options of the last run
```
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sys
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from fbc2_tasks import OPEN_TASKS
from fbc2_tools.quiet import progress, quiet_output, silence_deepspeed
from solution.rudolph import Rudolph, load_state_dict
from solution.weights import write_weights_dir
from synthetic_fbc2 import generate_split, read_training_folders

from .data import Example, ImageCodeCache, build_examples, make_batch
from .deepspeed_config import build_client_optimizer, precision_of, prepare_config, read_config
from .distributed import DistInfo, all_reduce_sum, barrier, init_distributed
from .dropout import set_dropout
from .emissions import EmissionTracker, NullTracker, describe_model
from .freezing import apply_freezing
from .loss import LOSS_LAYOUTS, LossOutput, rudolph_loss
from .options import TrainOptions
from .sources import Sources, load_sources
from .tasks import TASK_TRAINING, with_task_weights

TASK_SHORT = {task.name: task.short for task in OPEN_TASKS}


def load_samples(opts: TrainOptions) -> list:
    """Samples of the training folders and/or the synthetic generator, filtered by ``opts.tasks``."""
    samples = []
    for folder in opts.train_dirs:
        found = read_training_folders(folder, stage=opts.stage)
        if not found:
            raise FileNotFoundError(f"no FBC2 training files for stage {opts.stage!r} in {folder}")
        samples += found
    if opts.synthetic_per_task > 0:
        samples += generate_split("train", opts.synthetic_per_task, seed=opts.synthetic_seed, tasks=opts.tasks)
    if opts.tasks:
        unknown = set(opts.tasks) - set(TASK_TRAINING)
        if unknown:
            raise ValueError(f"unknown task(s) {sorted(unknown)}; known: {', '.join(TASK_TRAINING)}")
        samples = [s for s in samples if s.task in opts.tasks]
    if not samples:
        raise ValueError("no training samples: give --train-dir and/or --synthetic-per-task")
    return samples


def steps_per_epoch(n_examples: int, world_size: int, micro_batch: int, grad_accum: int) -> int:
    per_rank = n_examples // world_size
    steps = per_rank // (micro_batch * grad_accum)
    if steps < 1:
        raise ValueError(f"{n_examples} examples are too few for one step of {world_size} rank(s) x micro-batch "
                         f"{micro_batch} x accumulation {grad_accum}")
    return steps


def epoch_micro_batches(n_examples: int, epoch: int, seed: int, dist: DistInfo, micro_batch: int,
                        grad_accum: int) -> list[list[int]]:
    """This rank's micro-batches (example indices) of ``epoch``, ``steps_per_epoch * grad_accum`` of them."""
    order = list(range(n_examples))
    random.Random(f"fbc2-train-order:{seed}:{epoch}").shuffle(order)
    mine = order[dist.rank::dist.world_size]
    count = steps_per_epoch(n_examples, dist.world_size, micro_batch, grad_accum) * grad_accum
    return [mine[i * micro_batch:(i + 1) * micro_batch] for i in range(count)]


class RunningLosses:
    """Recent per-task losses for the progress bar."""

    def __init__(self, window: int = 20):
        self.values = defaultdict(lambda: deque(maxlen=window))

    def add(self, task_losses: dict[str, float]) -> None:
        for task, value in task_losses.items():
            self.values[task].append(value)

    def postfix(self, loss: float) -> dict[str, str]:
        out = {"loss": f"{loss:.3f}"}
        for task, values in self.values.items():
            out[TASK_SHORT.get(task, task)] = f"{sum(values) / len(values):.2f}"
        return out


class EpochStats:
    def __init__(self):
        self.loss_sum = 0.0
        self.batches = 0
        self.correct = 0
        self.total = 0

    def add(self, loss: float, correct: int, total: int) -> None:
        self.loss_sum += loss
        self.batches += 1
        self.correct += correct
        self.total += total

    def reduce(self) -> tuple[float, float]:
        loss_sum, batches, correct, total = all_reduce_sum([self.loss_sum, self.batches, self.correct, self.total])
        return loss_sum / max(batches, 1), correct / max(total, 1)


@dataclass(frozen=True)
class Schedule:
    micro_batch: int
    grad_accum: int
    steps_per_epoch: int
    total_steps: int


class Progress:
    """What training shows and writes as it goes: the progress bar and ``train_log.jsonl`` per optimizer
    step, ``loss_log.csv`` and a line per epoch (all on the main rank only)."""

    def __init__(self, out: Path, is_main: bool, show_bar: bool, total: int, start_step: int):
        self.out = out
        self.is_main = is_main
        self.bar = None
        if is_main and show_bar:  # a tqdm bar on a terminal, a plain line every 30 s in a log file
            self.bar = progress("train", total, initial=start_step, unit="step", file=sys.stdout)
        self.log = (out / "train_log.jsonl").open("a", encoding="utf-8") if is_main else None
        self.running = RunningLosses()

    def step_done(self, step: int, epoch: int, loss: float, task_means: dict[str, float], lr: float,
                  seconds: float) -> None:
        self.running.add(task_means)
        if self.log is not None:
            self.log.write(json.dumps({"step": step, "epoch": epoch + 1, "loss": round(loss, 6),
                                       "tasks": {t: round(v, 6) for t, v in task_means.items()},
                                       "lr": lr, "seconds": round(seconds, 3)}) + "\n")
            self.log.flush()
        if self.bar is not None:
            self.bar.set_postfix_str(", ".join(f"{k}={v}" for k, v in self.running.postfix(loss).items()))
            self.bar.update(1)

    def epoch_done(self, epoch: int, step: int, total: int, loss: float, accuracy: float) -> None:
        if not self.is_main:
            return
        with (self.out / "loss_log.csv").open("a", encoding="utf-8") as f:
            f.write(f"{epoch + 1},{loss:.6f}\n")
        message = f"epoch {epoch + 1}: step {step}/{total}, loss {loss:.4f}, right-text token accuracy {accuracy:.3f}"
        (self.bar.write(message) if self.bar is not None else print(message, flush=True))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.log is not None:
            self.log.close()


def fp32_cpu_copy(module: Rudolph) -> Rudolph:
    """An fp32 CPU copy of the (possibly bf16/fp16, GPU) model for the weights directory."""
    state = {k: (v.detach().float() if v.is_floating_point() else v.detach()).cpu() for k, v in module.state_dict().items()}
    with torch.device("meta"):
        copy = Rudolph(module.config)
    load_state_dict(copy, state, assign=True)
    return copy


def _json_default(value):
    return str(value)


class Trainer:
    def __init__(self, opts: TrainOptions):
        self.opts = opts
        self.out = Path(opts.out_dir)
        self.ckpt_dir = self.out / "checkpoints"
        if opts.threads:
            torch.set_num_threads(opts.threads)
        silence_deepspeed(opts.verbose)
        with quiet_output(opts.verbose):  # DeepSpeed prints its op builds and accelerator choice
            self.dist = init_distributed(opts.device)
        if self.dist.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
        barrier()
        self.registry = with_task_weights(opts.task_weights)
        if opts.loss_layout not in LOSS_LAYOUTS:
            raise ValueError(f"unknown loss layout {opts.loss_layout!r}; known: {sorted(LOSS_LAYOUTS)}")
        self.sources: Sources = load_sources(opts.weights, opts.config, opts.bpe, opts.vqgan, opts.vqgan_config,
                                             opts.seed)
        self.model = self.sources.model.train()
        self.config = self.model.config
        self.model.transformer.gradient_checkpointing = opts.gradient_checkpointing
        if opts.dropout is not None:
            set_dropout(self.model, opts.dropout)
        self.frozen = apply_freezing(self.model, opts.freeze, opts.freeze_first_layers)
        self.examples = self._build_examples()

    # -- data ----------------------------------------------------------------------------------
    def _build_examples(self) -> list[Example]:
        samples = load_samples(self.opts)
        self.sources.vqgan.to(self.dist.device)  # encode on the GPU when there is one
        cache_path = self.opts.code_cache or (self.out / "image_codes.pt")
        examples = None
        if self.dist.is_main:  # rank 0 encodes and saves; the others then only read the cache
            cache = ImageCodeCache(cache_path, self.sources.vqgan, self.sources.image_size)
            t0 = time.time()
            examples = build_examples(samples, cache, self.registry)
            if len(cache.codes) > cache.loaded:
                cache.save()
                print(f"train: encoded {len(cache.codes) - cache.loaded} images with the VQGAN in "
                      f"{time.time() - t0:.1f}s (cache {cache_path})", flush=True)
        barrier()
        if examples is None:
            examples = build_examples(samples, ImageCodeCache(cache_path, self.sources.vqgan, self.sources.image_size),
                                      self.registry)
        return examples

    # -- engine --------------------------------------------------------------------------------
    def _engine(self, total_steps: int):
        import deepspeed

        opts = self.opts
        device_type = self.dist.device.type
        raw = read_config(opts.deepspeed_config, device_type)
        ds_config, client_spec = prepare_config(raw, device_type, self.dist.world_size, total_steps,
                                                opts.micro_batch, opts.grad_accum, opts.lr)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.model.to(self.dist.device)
        with quiet_output(opts.verbose):
            if device_type == "cpu":
                optimizer = build_client_optimizer(client_spec, params)
                engine, _, _, _ = deepspeed.initialize(model=self.model, optimizer=optimizer, config=ds_config)
            else:
                engine, _, _, _ = deepspeed.initialize(model=self.model, model_parameters=params, config=ds_config)
        return engine, ds_config

    def _save(self, engine, step: int, epoch: int) -> None:
        engine.save_checkpoint(str(self.ckpt_dir), tag=f"step{step:07d}", client_state={"step": step, "epoch": epoch})
        if self.dist.is_main:
            write_weights_dir(self.out / "weights", fp32_cpu_copy(engine.module), self.sources.bpe_path,
                              self.sources.vqgan, self.sources.vqgan_config)
            tags = sorted(p for p in self.ckpt_dir.glob("step*") if p.is_dir())
            for old in tags[:-self.opts.keep_checkpoints] if self.opts.keep_checkpoints > 0 else []:
                shutil.rmtree(old, ignore_errors=True)
        barrier()

    # -- loop ----------------------------------------------------------------------------------
    def train(self) -> dict:
        schedule = self._schedule()
        engine, ds_config = self._engine(schedule.total_steps)
        start_step = self._resume(engine)
        if self.dist.is_main:
            self._write_args(ds_config, schedule.steps_per_epoch, schedule.total_steps, start_step)
        tracker = self._emission_tracker()
        progress = Progress(self.out, self.dist.is_main, self.opts.progress, schedule.total_steps, start_step)
        step = start_step
        history = []
        tracker.start(first_epoch=step // schedule.steps_per_epoch + 1)
        try:
            while step < schedule.total_steps:
                epoch = step // schedule.steps_per_epoch
                step, stats = self._run_epoch(engine, schedule, epoch, step, progress)
                epoch_loss, accuracy = stats.reduce()
                history.append({"epoch": epoch + 1, "loss": epoch_loss, "accuracy": accuracy, "step": step})
                tracker.epoch(epoch + 1, epoch_loss, accuracy)
                progress.epoch_done(epoch, step, schedule.total_steps, epoch_loss, accuracy)
            self._save(engine, step, step // schedule.steps_per_epoch)
        finally:
            tracker.stop()
            progress.close()
        return {"steps": step, "start_step": start_step, "steps_per_epoch": schedule.steps_per_epoch,
                "epochs": history, "weights": str(self.out / "weights"),
                "emission_csv": str(tracker.csv_path) if tracker.csv_path else None}

    def _schedule(self) -> Schedule:
        """Micro-batch and accumulation (options over the DeepSpeed file), steps per epoch, total steps."""
        opts, dist = self.opts, self.dist
        raw = read_config(opts.deepspeed_config, dist.device.type)
        micro = opts.micro_batch or raw.get("train_micro_batch_size_per_gpu", 1)
        accum = opts.grad_accum or raw.get("gradient_accumulation_steps", 1)
        spe = steps_per_epoch(len(self.examples), dist.world_size, micro, accum)
        return Schedule(micro, accum, spe, opts.max_steps if opts.max_steps else opts.epochs * spe)

    def _resume(self, engine) -> int:
        """The step to start from: the latest DeepSpeed checkpoint's with --resume, else 0."""
        if self.opts.resume and (self.ckpt_dir / "latest").is_file():
            path, client_state = engine.load_checkpoint(str(self.ckpt_dir))
            if path is None:
                raise RuntimeError(f"could not load the DeepSpeed checkpoint in {self.ckpt_dir}")
            return int(client_state.get("step", engine.global_steps))
        if self.opts.resume and self.dist.is_main:
            print(f"train: --resume: no checkpoint in {self.ckpt_dir}, starting at step 0", flush=True)
        return 0

    def _emission_tracker(self) -> EmissionTracker | NullTracker:
        opts = self.opts
        if not (opts.eco2ai and self.dist.is_main):
            return NullTracker()
        n_params = sum(p.numel() for p in self.model.parameters())
        description = describe_model(self.sources.name, n_params, self.frozen["trainable"], opts.final)
        return EmissionTracker(self.out / "emission.csv", opts.project_name, description, opts.country,
                               opts.region, opts.cpu_processes)

    def _run_epoch(self, engine, schedule: Schedule, epoch: int, step: int,
                   progress: Progress) -> tuple[int, EpochStats]:
        """The optimizer steps of ``epoch`` from ``step`` on (to its end or to the last step)."""
        opts, accum, spe = self.opts, schedule.grad_accum, schedule.steps_per_epoch
        batches = epoch_micro_batches(len(self.examples), epoch, opts.seed, self.dist, schedule.micro_batch, accum)
        stats = EpochStats()
        step_losses, step_tasks, t0 = [], defaultdict(list), time.time()
        for k in range((step - epoch * spe) * accum, spe * accum):
            loss, out = self._micro_step(engine, batches[k], epoch, step)
            stats.add(loss, out.right_correct, out.right_total)
            step_losses.append(loss)
            for task, value in out.task_losses.items():
                step_tasks[task].append(value)
            if (k + 1) % accum:
                continue
            step += 1
            task_means = {t: sum(v) / len(v) for t, v in step_tasks.items()}
            progress.step_done(step, epoch, sum(step_losses) / len(step_losses), task_means, engine.get_lr()[0],
                               time.time() - t0)
            step_losses, step_tasks, t0 = [], defaultdict(list), time.time()
            if opts.save_every and step % opts.save_every == 0 and step < schedule.total_steps:
                self._save(engine, step, epoch)
            if step >= schedule.total_steps:
                break
        return step, stats

    def _micro_step(self, engine, batch: list[int], epoch: int, step: int) -> tuple[float, LossOutput]:
        """Forward, backward and engine step on one micro-batch; its loss (finite, or an error)."""
        opts = self.opts
        ids, tasks = make_batch(self.examples, batch, epoch, opts.seed, self.sources.tokenizer, self.config,
                                self.registry)
        ids = ids.to(engine.device)
        logits = engine(ids)
        out = rudolph_loss(logits, ids, tasks, self.config, self.registry, opts.loss_layout)
        engine.backward(out.loss)
        engine.step()
        loss = float(out.loss.detach())
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss is {loss} at step {step}")
        return loss, out

    def _write_args(self, ds_config: dict, spe: int, total: int, start_step: int) -> None:
        record = {"options": asdict(self.opts), "deepspeed": ds_config, "precision": precision_of(ds_config),
                  "world_size": self.dist.world_size, "examples": len(self.examples), "steps_per_epoch": spe,
                  "total_steps": total, "start_step": start_step, "frozen": self.frozen, "model": self.sources.name,
                  "command": sys.argv}
        (self.out / "train_args.json").write_text(json.dumps(record, indent=2, default=_json_default),
                                                   encoding="utf-8")


def train(opts: TrainOptions) -> dict:
    return Trainer(opts).train()
