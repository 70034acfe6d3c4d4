"""The settings of one training run: each field is also a flag of ``scripts/train.py`` (fbc2_io.settings)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from fbc2_io.settings import setting
from fbc2_tools.quiet import PROGRESS_EVERY

from .deepspeed_config import CONFIG_DIR, DEFAULT_CONFIGS, read_config
from .emissions import DEFAULT_COUNTRY, DEFAULT_PROJECT, TARGET_PHRASE
from .freezing import FREEZE_GROUPS
from .loss import LOSS_LAYOUTS
from .tasks import TASK_TRAINING, TaskTraining

# The learning rate when fine-tuning trained weights (--weights) without --lr: the GPU configs' rate.
# The CPU config's rate is a from-scratch rate (the demo recipe); fine-tuning the demo with it made
# the model worse.
FINE_TUNE_LR = 2e-5
FBC2_DROPOUT = 0.1  # the dropout of the organisers' FBC2 fine-tuning (the published configs carry none)
CONFIG_LRS = {device: read_config(path, device)["optimizer"]["params"]["lr"] for device, path in DEFAULT_CONFIGS.items()}
ECO2AI_CPU_PROCESSES = ("current", "all")  # eco2AI's cpu_processes: this process's CPU load, or the machine's


def task_weight(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or name not in TASK_TRAINING:
        raise argparse.ArgumentTypeError(f"expected TASK=WEIGHT with TASK one of {', '.join(TASK_TRAINING)}")
    return name, float(value)


class TaskWeights(argparse.Action):
    """``--task-weight TASK=W``, repeatable, into one dict (a later weight of a task wins)."""

    def __call__(self, parser, namespace, value, option_string=None):
        name, weight = value
        setattr(namespace, self.dest, {**getattr(namespace, self.dest), name: weight})


def _config_name(device: str) -> str:
    return str(DEFAULT_CONFIGS[device].relative_to(CONFIG_DIR.parents[2]))


MODEL, DATA, ENGINE, MODEL_OPTIONS, ECO2AI = "model", "data", "schedule and engine", "model options", "eco2AI"
GROUPS = (MODEL, DATA, ENGINE, MODEL_OPTIONS, ECO2AI)


@dataclass
class TrainOptions:
    out_dir: Path = setting(help="output folder: checkpoints/, weights/, emission.csv, logs", flag="--out", group=ENGINE)
    # model source: a weights directory, or the parts of a new model
    weights: Path | None = setting(None, "weights directory to fine-tune (config.json, checkpoint, bpe.model, VQGAN)",
                                   group=MODEL)
    config: str | None = setting(None, "train a new model: a RUDOLPH config name (e.g. demo, tiny) or params JSON",
                                 group=MODEL)
    bpe: Path | None = setting(None, "new model: the youtokentome BPE (scripts/train_bpe.py)", group=MODEL)
    vqgan: Path | None = setting(None, "new model: a VQGAN checkpoint or folder (scripts/train_vqgan.py)", group=MODEL)
    vqgan_config: str | None = setting(None, "VQGAN config name or JSON (default: the folder's vqgan_config.json, "
                                       "else sber-gumbelf8)", group=MODEL)
    # data
    train_dirs: list[Path] = setting(help="FBC2 training folders (textqa/, mathqa/, ...); repeatable",
                                     flag="--train-dir", action="append", factory=list, group=DATA)
    stage: str = setting("train", "file stage: <prefix>_<stage>.json (default: {default})", group=DATA)
    synthetic_per_task: int = setting(0, "add N samples per task of the synthetic generator's train split", group=DATA)
    synthetic_seed: int | None = setting(None, "generator seed (default: the train split's)", group=DATA)
    tasks: list[str] | None = setting(None, "train only these tasks", nargs="+", choices=tuple(TASK_TRAINING),
                                      group=DATA)
    code_cache: Path | None = setting(None, "VQGAN code cache file (default: OUT/image_codes.pt)", group=DATA)
    # schedule and engine
    epochs: int = setting(1, "passes over the data (default {default})", group=ENGINE)
    max_steps: int | None = setting(None, "stop after this many optimizer steps (overrides --epochs)", group=ENGINE)
    deepspeed_config: Path | None = setting(None, f"DeepSpeed JSON (default: {_config_name('cpu')} on CPU, "
                                            f"{DEFAULT_CONFIGS['cuda'].name} on GPU)", group=ENGINE)
    micro_batch: int | None = setting(None, "override train_micro_batch_size_per_gpu", group=ENGINE)
    grad_accum: int | None = setting(None, "override gradient_accumulation_steps", group=ENGINE)
    lr: float | None = setting(None, f"peak learning rate (default: {FINE_TUNE_LR:g} when fine-tuning --weights, else "
                               f"the DeepSpeed config's: {CONFIG_LRS['cpu']:g} on CPU, {CONFIG_LRS['cuda']:g} on GPU)",
                               group=ENGINE)
    seed: int = setting(0, "model init, data order and task-token draws (default {default})", group=ENGINE)
    save_every: int = setting(0, "checkpoint every N steps (and always at the end)", group=ENGINE)
    keep_checkpoints: int = setting(2, "DeepSpeed checkpoints to keep (0: all; default {default})", group=ENGINE)
    resume: bool = setting(False, "continue from OUT/checkpoints/latest", group=ENGINE)
    device: str | None = setting(None, "default: cuda when available", choices=tuple(DEFAULT_CONFIGS), group=ENGINE)
    threads: int | None = setting(None, "torch CPU threads per process", group=ENGINE)
    # model options
    freeze: list[str] = setting(help="parameter groups to freeze", nargs="+", choices=sorted(FREEZE_GROUPS),
                                factory=list, group=MODEL_OPTIONS)
    freeze_first_layers: int = setting(0, "freeze transformer layers 0..N-1", group=MODEL_OPTIONS)
    gradient_checkpointing: bool = setting(False, "recompute layer activations in backward", group=MODEL_OPTIONS)
    dropout: float | None = setting(None, "attention and output dropout while training (default: the config's, none "
                                    f"for the published ones; the FBC2 fine-tuning used {FBC2_DROPOUT:g})",
                                    group=MODEL_OPTIONS)
    loss_layout: str = setting("rudolph", "left/image border of the loss (see training/loss.py; default: {default})",
                               choices=sorted(LOSS_LAYOUTS), group=MODEL_OPTIONS)
    task_weights: dict[str, float] = setting(
        help=f"weight of a task's loss in the batch loss (default {TaskTraining.task_weight:g} each)",
        flag="--task-weight", type=task_weight, action=TaskWeights, metavar="TASK=W", factory=dict, group=MODEL_OPTIONS)
    # eco2AI and output
    eco2ai: bool = setting(True, "do not track emissions", flag="--no-eco2ai", group=ECO2AI)
    final: bool = setting(False, f"the final run: add '{TARGET_PHRASE}' to the description", group=ECO2AI)
    country: str = setting(DEFAULT_COUNTRY, "ISO alpha-2 code of the electricity grid (default: {default})",
                           group=ECO2AI)
    region: str | None = setting(None, "region inside the country (eco2AI's table)", group=ECO2AI)
    project_name: str = setting(DEFAULT_PROJECT, "eco2AI's project name (default: {default})", group=ECO2AI)
    cpu_processes: str = setting("current", "CPU load of this process only, or of the whole machine",
                                 flag="--eco2ai-cpu-processes", choices=ECO2AI_CPU_PROCESSES, group=ECO2AI)
    progress: bool = setting(True, f"no progress (default: a bar on a terminal, a plain line every {PROGRESS_EVERY:g} s "
                             "in a log)", flag="--no-progress")
    verbose: bool = setting(False, "show library warnings and DeepSpeed's start-up lines")
