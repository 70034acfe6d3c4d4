"""eco2AI emission CSVs: parsing, the "Most Sustainable Solution" value, a run summary, plots.

eco2AI writes one row per `start()`/`stop()` run, or one row per epoch between
`start_training()` and `stop_training()`; an epoch row's `epoch` column reads
"epoch: 3, loss: 0.41, " (the parameters given to `new_epoch`). The category value is the
`CO2_emissions(kg)` of the LAST row whose `experiment_description` contains "TargetValue", when
`evaluator.co2_rows` finds the file and that row consistent (no column named twice, duration,
energy and CO2 above 0, CO2 per kWh within eco2AI's own emission factors); an implausible mean
power is a note beside the value.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re

from evaluator.co2_rows import CO2, DURATION, KWH, judge_row
from evaluator.errors import InputError
from evaluator.io.display import shown
from evaluator.io.files import MAX_EMISSION_BYTES, read_inside, read_regular
from evaluator.pngplot import bar_plot, line_plot

DESCRIPTION = "experiment_description"
TARGET_PHRASE = "TargetValue"
_EPOCH = re.compile(r"^\s*epoch:\s*(\d{1,9})(.*)$", re.DOTALL)


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


def read_emission_table(path: str, *, root: str | None = None) -> tuple[list[str], list[dict]]:
    """(the header's column names, the rows) of an eco2AI CSV, each row with numeric CO2/kWh/duration
    and parsed epoch fields added.

    With `root`, `path` is relative to that folder and must stay inside it (a team's file)."""
    if root is None:
        data = read_regular(path, MAX_EMISSION_BYTES, "emission file")
    else:
        data = read_inside(root, path, MAX_EMISSION_BYTES, "emission file")
        path = os.path.join(root, path)
    where = shown(path)
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
        raw_rows = list(reader)
        columns = reader.fieldnames or []
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"cannot read emission file {where}: {error}") from None
    if CO2 not in columns:
        raise InputError(f"emission file {where} has no {CO2!r} column (is it an eco2AI CSV?)")
    rows = []
    for raw in raw_rows:
        row = dict(raw)
        row["co2_kg"] = _number(raw.get(CO2))
        row["kwh"] = _number(raw.get(KWH))
        row["duration_s"] = _number(raw.get(DURATION))
        row["epoch_number"], row["epoch_params"] = parse_epoch(raw.get("epoch", ""))
        rows.append(row)
    return list(columns), rows


def read_emissions(path: str, *, root: str | None = None) -> list[dict]:
    """The rows of `read_emission_table`."""
    return read_emission_table(path, root=root)[1]


def target_value_row(rows: list[dict]) -> dict | None:
    """The last row whose experiment_description contains "TargetValue" (None if there is none)."""
    found = [row for row in rows if TARGET_PHRASE in (row.get(DESCRIPTION) or "")]
    return found[-1] if found else None


def target_value(path: str, *, root: str | None = None) -> tuple[float | None, str | None, list[str]]:
    """(the sustainability category value of an emission CSV in kg, or None; why not; notes on an
    implausible mean power). A value comes only from a consistent file and row (`co2_rows.judge_row`)."""
    columns, rows = read_emission_table(path, root=root)
    return judge_row(columns, target_value_row(rows))


def target_value_co2(path: str, *, root: str | None = None) -> tuple[float | None, str | None]:
    """(the sustainability category value of an emission CSV in kg, or None; a note why not)."""
    value, note, _ = target_value(path, root=root)
    return value, note


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
        "power_model": power_model(rows),
        "epochs": [{"epoch": row["epoch_number"], "co2_kg": row["co2_kg"], "kwh": row["kwh"],
                    "loss": _number(row["epoch_params"].get("loss"))} for row in epochs],
    }


def read_loss_log(path: str) -> dict[int, float]:
    """A loss log: lines "epoch,loss" (comma, tab or space separated), an optional header line."""
    data = read_regular(path, MAX_EMISSION_BYTES, "loss log")
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise InputError(f"loss log {shown(path)} is not UTF-8 text ({error.reason})") from None
    losses: dict[int, float] = {}
    for number, line in enumerate(lines, 1):
        parts = [p for p in re.split(r"[,\t ;]+", line.strip()) if p]
        if not parts:
            continue
        epoch, loss = (_number(parts[0]), _number(parts[1])) if len(parts) >= 2 else (None, None)
        if epoch is None or loss is None or not math.isfinite(epoch) or epoch != int(epoch) or abs(epoch) > 1e9:
            if number == 1:
                continue  # header
            raise InputError(f"loss log {shown(path)} line {number}: expected 'epoch,loss' with an "
                             f"integer epoch, found {shown(line[:80])!r}")
        losses[int(epoch)] = loss
    return losses


_TDP = re.compile(r"TDP:\s*([0-9.]+)")
POWER_SPREAD = 10.0  # runs whose mean power differs more than this factor are flagged


def power_model(rows: list[dict]) -> dict:
    """How eco2AI estimated the power: the CPU TDP it used (it takes 100 W when its table does not
    know the CPU), whether a GPU was measured (NVML), and the mean power of each run."""
    cpus = sorted({row.get("CPU_name") or "" for row in rows} - {""})
    gpus = sorted({row.get("GPU_name") or "" for row in rows} - {""})
    tdps = sorted({float(m.group(1)) for cpu in cpus for m in [_TDP.search(cpu)] if m})
    runs: dict[str, list[dict]] = {}
    for row in rows:
        runs.setdefault(row.get("id") or "", []).append(row)
    run_power = {}
    for run, run_rows in runs.items():
        kwh = sum(r["kwh"] or 0 for r in run_rows)
        seconds = sum(r["duration_s"] or 0 for r in run_rows)
        if kwh > 0 and seconds > 0:
            run_power[run] = kwh * 3.6e6 / seconds
    warnings = []
    if len(run_power) > 1 and min(run_power.values()) > 0:
        low, high = min(run_power.values()), max(run_power.values())
        if high / low > POWER_SPREAD:
            warnings.append(f"the runs' mean power differs {high / low:.0f}-fold ({low:.3g} W to {high:.3g} W) on "
                            f"CPU {'; '.join(cpus) or '?'}: eco2AI's estimate depends on its CPU TDP table (100 W when "
                            "the CPU is unknown), on whether a GPU was found, and on the CPU load it sampled")
    return {"cpu_tdp_w": tdps, "cpu_default_tdp": 100.0 in tdps, "gpus": gpus,
            "gpu_measured": any(g and g.lower() not in ("n/a", "none", "") for g in gpus),
            "mean_power_w_by_run": run_power, "warnings": warnings}


def power_model_note(summary: dict) -> str:
    """One line that says how eco2AI got its power figures (written beside every CO2 value)."""
    model = summary.get("power_model") or {}
    tdp = ", ".join(f"{t:g} W" for t in model.get("cpu_tdp_w", [])) or "unknown"
    parts = [f"eco2AI power model: CPU = TDP {tdp} x load"
             + (" (100 W is eco2AI's default for a CPU missing from its table)" if model.get("cpu_default_tdp") else ""),
             "GPU = NVML readings" if model.get("gpu_measured") else "no GPU measured",
             "RAM by size"]
    powers = list((model.get("mean_power_w_by_run") or {}).values())
    if powers:
        parts.append(f"mean power {min(powers):.3g} W" if len(powers) == 1 or min(powers) == max(powers)
                     else f"mean power {min(powers):.3g}-{max(powers):.3g} W by run")
    return "; ".join(parts)


def epoch_mismatch(summary: dict, losses: dict[int, float] | None) -> str | None:
    """Why a loss log and the CSV's epoch rows disagree, or None."""
    if not losses:
        return None
    csv_epochs = sorted({e["epoch"] for e in summary["epochs"]})
    log_epochs = sorted(losses)
    if csv_epochs == log_epochs:
        return None

    def describe(epochs):
        return f"{len(epochs)} epoch{'s' if len(epochs) != 1 else ''} ({', '.join(map(str, epochs[:8]))}{', ...' if len(epochs) > 8 else ''})"

    both = sorted(set(csv_epochs) & set(log_epochs))
    return (f"the loss log has {describe(log_epochs)} but the emission CSV has {describe(csv_epochs)}; "
            f"only the {len(both)} epoch(s) in both are plotted against CO2")


def draw_plots(summary: dict, out_dir: str, losses: dict[int, float] | None = None) -> tuple[list[str], list[str]]:
    """Draw co2_per_epoch.png (bars, grams) and loss_vs_co2.png; return (written paths, reasons for skipped plots)."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InputError(f"--out-dir {out_dir} is a file, not a folder")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create --out-dir {out_dir}: {error.strerror or error}") from None
    written, skipped = [], []
    epochs = [e for e in summary["epochs"] if e["co2_kg"] is not None]
    if not epochs:
        skipped.append("no per-epoch rows (use Tracker.start_training/new_epoch/stop_training)")
        return written, skipped
    note = power_model_note(summary)
    written.append(bar_plot(os.path.join(out_dir, "co2_per_epoch.png"), [e["epoch"] for e in epochs],
                            [e["co2_kg"] * 1000 for e in epochs], "CO2 emissions per epoch (eco2AI)", "epoch",
                            "CO2, g", note))
    cumulative, running = [], 0.0
    for e in epochs:
        running += e["co2_kg"] * 1000
        cumulative.append(running)
    loss_of = dict(losses or {})
    for e in epochs:
        if e["epoch"] not in loss_of and e["loss"] is not None:
            loss_of[e["epoch"]] = e["loss"]
    points = [(c, loss_of[e["epoch"]]) for e, c in zip(epochs, cumulative, strict=True) if e["epoch"] in loss_of]
    if points:
        written.append(line_plot(os.path.join(out_dir, "loss_vs_co2.png"), [p[0] for p in points],
                                 [p[1] for p in points], "Loss against cumulative CO2 (eco2AI)",
                                 "cumulative CO2 after the epoch, g", "loss", note))
    else:
        skipped.append("no loss values (pass --loss-log or give new_epoch({'loss': ...}))")
    return written, skipped
