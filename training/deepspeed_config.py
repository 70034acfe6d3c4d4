"""DeepSpeed JSON configs: defaults in ``training/configs/deepspeed/``, command-line overrides, CPU rules.

- ``cpu_fp32.json``: fp32, ZeRO stage 1, AdamW 3e-4 (training a small model from scratch);
- ``gpu_bf16.json`` / ``gpu_fp16.json``: ZeRO stage 2, mixed precision, AdamW 2e-5 (fine-tuning).

Rules applied on top of the file: ``--micro-batch``, ``--grad-accum`` and ``--lr`` override it;
``train_batch_size`` is always recomputed as micro-batch x accumulation x world size; the scheduler's
``"auto"`` step counts are filled from the run length (warmup: 5% of the steps). On CPU the precision
must be fp32 and the optimizer section is taken out and built here as a client ``torch.optim`` object
(DeepSpeed's own optimizers are CUDA kernels). ZeRO stage 3 is refused: the consolidated weights
directory is written from the full parameters each rank holds under stages 0-2.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

CONFIG_DIR = Path(__file__).resolve().parent / "configs" / "deepspeed"
DEFAULT_CONFIGS = {"cpu": CONFIG_DIR / "cpu_fp32.json", "cuda": CONFIG_DIR / "gpu_bf16.json"}
CLIENT_OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}
WARMUP_FRACTION = 0.05


def precision_of(config: dict) -> str:
    if config.get("bf16", {}).get("enabled"):
        return "bf16"
    if config.get("fp16", {}).get("enabled"):
        return "fp16"
    return "fp32"


def read_config(path: str | Path | None, device_type: str) -> dict:
    path = Path(path) if path is not None else DEFAULT_CONFIGS[device_type]
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"DeepSpeed config not found: {path}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None


def prepare_config(config: dict, device_type: str, world_size: int, total_steps: int, micro_batch: int | None = None,
                   grad_accum: int | None = None, lr: float | None = None) -> tuple[dict, dict | None]:
    """The config to give DeepSpeed and, on CPU, the optimizer section to build as a client optimizer."""
    config = copy.deepcopy(config)
    if micro_batch is not None:
        config["train_micro_batch_size_per_gpu"] = micro_batch
    if grad_accum is not None:
        config["gradient_accumulation_steps"] = grad_accum
    config.setdefault("train_micro_batch_size_per_gpu", 1)
    config.setdefault("gradient_accumulation_steps", 1)
    config["train_batch_size"] = (config["train_micro_batch_size_per_gpu"] * config["gradient_accumulation_steps"]
                                  * world_size)
    stage = config.get("zero_optimization", {}).get("stage", 0)
    if stage not in (0, 1, 2):
        raise ValueError(f"ZeRO stage {stage} is not supported (use 0, 1 or 2: the weights directory is written "
                         "from the full parameters each rank holds)")
    if device_type == "cpu" and precision_of(config) != "fp32":
        raise ValueError(f"{precision_of(config)} needs a GPU: on CPU use an fp32 config (training/configs/deepspeed/cpu_fp32.json)")
    if lr is not None:
        config.setdefault("optimizer", {"type": "AdamW", "params": {}}).setdefault("params", {})["lr"] = lr
        scheduler_params = config.get("scheduler", {}).get("params", {})
        for key in ("warmup_max_lr", "max_lr", "cycle_max_lr"):
            if key in scheduler_params:
                scheduler_params[key] = lr
    scheduler_params = config.get("scheduler", {}).get("params", {})
    if scheduler_params.get("total_num_steps") == "auto":
        scheduler_params["total_num_steps"] = max(1, total_steps)
    if scheduler_params.get("warmup_num_steps") == "auto":
        scheduler_params["warmup_num_steps"] = max(1, int(total_steps * WARMUP_FRACTION))
    client_optimizer = config.pop("optimizer", None) if device_type == "cpu" else None
    return config, client_optimizer


def build_client_optimizer(spec: dict | None, parameters) -> torch.optim.Optimizer:
    """A torch optimizer from a DeepSpeed ``optimizer`` section (type Adam or AdamW)."""
    spec = spec or {"type": "AdamW", "params": {"lr": 3e-4}}
    kind = str(spec.get("type", "AdamW")).lower()
    if kind not in CLIENT_OPTIMIZERS:
        raise ValueError(f"optimizer {spec.get('type')!r} cannot run on CPU here; use one of {sorted(CLIENT_OPTIMIZERS)}")
    params = dict(spec.get("params", {}))
    if "betas" in params:
        params["betas"] = tuple(params["betas"])
    params.pop("torch_adam", None)
    params.pop("adam_w_mode", None)
    return CLIENT_OPTIMIZERS[kind](parameters, **params)
