"""eco2AI emission CSVs: parsing, the "Most Sustainable Solution" value, a run summary, plots.

eco2AI writes one row per `start()`/`stop()` run, or one row per epoch between
`start_training()` and `stop_training()`; an epoch row's `epoch` column reads
"epoch: 3, loss: 0.41, " (the parameters given to `new_epoch`). The category value is the
`CO2_emissions(kg)` of the LAST row whose `experiment_description` contains "TargetValue".
"""

from __future__ import annotations

import csv
import os
import re

from evaluator.fbc2_files import InputError

CO2 = "CO2_emissions(kg)"
KWH = "power_consumption(kWh)"
DURATION = "duration(s)"
DESCRIPTION = "experiment_description"
TARGET_PHRASE = "TargetValue"
_EPOCH = re.compile(r"^\s*epoch:\s*(\d+)(.*)$", re.DOTALL)


def _number(text) -> float | None:
    try:
        return float(str(text).strip())
    except (TypeError, ValueError):
        return None


def parse_epoch(cell: str) -> tuple[int | None, dict[str, str]]:
    """"epoch: 3, loss: 0.41, lr: 0.001, " -> (3, {"loss": "0.41", "lr": "0.001"}); "N/A" -> (None, {})."""
    match = _EPOCH.match(cell or "")
    if not match:
        return None, {}
    params = {}
    for part in match.group(2).split(","):
        key, sep, value = part.partition(":")
        if sep and key.strip():
            params[key.strip()] = value.strip()
    return int(match.group(1)), params


def read_emissions(path: str) -> list[dict]:
    """Rows of an eco2AI CSV with numeric CO2/kWh/duration and parsed epoch fields added."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            raw_rows = list(reader)
            columns = reader.fieldnames or []
    except FileNotFoundError:
        raise InputError(f"emission file not found: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"cannot read emission file {path}: {error}") from None
    if CO2 not in columns:
        raise InputError(f"emission file {path} has no {CO2!r} column (is it an eco2AI CSV?)")
    rows = []
    for raw in raw_rows:
        row = dict(raw)
        row["co2_kg"] = _number(raw.get(CO2))
        row["kwh"] = _number(raw.get(KWH))
        row["duration_s"] = _number(raw.get(DURATION))
        row["epoch_number"], row["epoch_params"] = parse_epoch(raw.get("epoch", ""))
        rows.append(row)
    return rows


def target_value_row(rows: list[dict]) -> dict | None:
    """The last row whose experiment_description contains "TargetValue" (None if there is none)."""
    found = [row for row in rows if TARGET_PHRASE in (row.get(DESCRIPTION) or "")]
    return found[-1] if found else None


def target_value_co2(path: str) -> float | None:
    """The sustainability category value of a submission's emission CSV."""
    row = target_value_row(read_emissions(path))
    return None if row is None else row["co2_kg"]


def _sum(rows: list[dict], key: str) -> float:
    return sum(row[key] for row in rows if row[key] is not None)


def epoch_rows(rows: list[dict]) -> list[dict]:
    """Per-epoch rows of the TargetValue run (same tracker id), else of the whole file."""
    target = target_value_row(rows)
    pool = rows
    if target is not None and target.get("id"):
        pool = [row for row in rows if row.get("id") == target.get("id")]
    return [row for row in pool if row["epoch_number"] is not None]


def summarise(rows: list[dict]) -> dict:
    """Totals, devices, regions, the TargetValue row and per-epoch values of a training log."""
    target = target_value_row(rows)
    epochs = epoch_rows(rows)
    return {
        "rows": len(rows),
        "total_kwh": _sum(rows, "kwh"),
        "total_co2_kg": _sum(rows, "co2_kg"),
        "total_duration_s": _sum(rows, "duration_s"),
        "projects": sorted({row.get("project_name") or "" for row in rows} - {""}),
        "cpus": sorted({row.get("CPU_name") or "" for row in rows} - {""}),
        "gpus": sorted({row.get("GPU_name") or "" for row in rows} - {""}),
        "regions": sorted({row.get("region/country") or "" for row in rows} - {""}),
        "target_value": None if target is None else {
            "co2_kg": target["co2_kg"], "kwh": target["kwh"], "duration_s": target["duration_s"],
            "project_name": target.get("project_name"), "experiment_description": target.get(DESCRIPTION),
        },
        "epochs": [{"epoch": row["epoch_number"], "co2_kg": row["co2_kg"], "kwh": row["kwh"],
                    "loss": _number(row["epoch_params"].get("loss"))} for row in epochs],
    }


def read_loss_log(path: str) -> dict[int, float]:
    """A loss log: lines "epoch,loss" (comma, tab or space separated), an optional header line."""
    losses: dict[int, float] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise InputError(f"cannot read loss log {path}: {error.strerror or error}") from None
    for number, line in enumerate(lines, 1):
        parts = [p for p in re.split(r"[,\t ;]+", line.strip()) if p]
        if not parts:
            continue
        if len(parts) < 2 or _number(parts[0]) is None or _number(parts[1]) is None:
            if number == 1:
                continue  # header
            raise InputError(f"loss log {path} line {number}: expected 'epoch,loss', found {line!r}")
        losses[int(float(parts[0]))] = float(parts[1])
    return losses


def draw_plots(summary: dict, out_dir: str, losses: dict[int, float] | None = None) -> tuple[list[str], list[str]]:
    """Draw co2_per_epoch.png and loss_vs_co2.png; return (written paths, reasons for skipped plots)."""
    from evaluator.pngplot import line_plot

    os.makedirs(out_dir, exist_ok=True)
    written, skipped = [], []
    epochs = [e for e in summary["epochs"] if e["co2_kg"] is not None]
    if not epochs:
        skipped.append("no per-epoch rows (use Tracker.start_training/new_epoch/stop_training)")
        return written, skipped
    written.append(line_plot(os.path.join(out_dir, "co2_per_epoch.png"), [e["epoch"] for e in epochs],
                             [e["co2_kg"] for e in epochs], "CO2 emissions per epoch (eco2AI)", "epoch",
                             "CO2, kg"))
    cumulative, running = [], 0.0
    for e in epochs:
        running += e["co2_kg"]
        cumulative.append(running)
    loss_of = dict(losses or {})
    for e in epochs:
        if e["epoch"] not in loss_of and e["loss"] is not None:
            loss_of[e["epoch"]] = e["loss"]
    points = [(c, loss_of[e["epoch"]]) for e, c in zip(epochs, cumulative, strict=True) if e["epoch"] in loss_of]
    if points:
        written.append(line_plot(os.path.join(out_dir, "loss_vs_co2.png"), [p[0] for p in points],
                                 [p[1] for p in points], "Loss against cumulative CO2", "cumulative CO2, kg", "loss"))
    else:
        skipped.append("no loss values (pass --loss-log or give new_epoch({'loss': ...}))")
    return written, skipped
