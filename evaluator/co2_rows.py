"""Whether an eco2AI CSV can give the "Most Sustainable Solution" value: consistent or rejected.

eco2AI 0.3.12 writes a row's `CO2_emissions(kg)` as `power_consumption(kWh)` times an emission
factor (kg of CO2 per MWh) over 1000, the factor taken from its own `data/carbon_index.csv` by
country and region. So a genuine row has a duration and an energy above 0 and a CO2 per kWh inside
that table's range. A row that is not (`-0`, `0.0` or `5e-324` kg next to 0.5 kWh), or a file whose
header names a column twice (`csv.DictReader` would silently keep the last), is rejected: the
team gets a note saying why and no nomination.

Separately, a row can be consistent and still implausible: a mean power far below the CPU's
rated power (eco2AI's CPU model is TDP x the process's CPU share x CPU count; a training run
at a fraction of a watt is not what the contest asks for), or energy and duration that no machine
of the row's devices could produce. Those are notes shown beside the value; they do not reject it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping

CO2 = "CO2_emissions(kg)"
KWH = "power_consumption(kWh)"
DURATION = "duration(s)"
CPU_NAME = "CPU_name"
GPU_NAME = "GPU_name"
REQUIRED_COLUMNS = (DURATION, KWH, CO2)

# The emission factors of eco2ai 0.3.12's data/carbon_index.csv ("Emission intensity, kg/MWh", 365
# rows; tests/evaluator/test_co2_rows.py checks these against the installed table). The table's one
# zero (Central African Republic) is left out: a CO2 of 0 cannot be ranked against anything.
FACTOR_SOURCE = "eco2ai 0.3.12 data/carbon_index.csv"
FACTOR_MIN_KG_PER_MWH = 1.2  # Canada: Manitoba, Quebec
FACTOR_MAX_KG_PER_MWH = 960.0  # Australia: Victoria
FACTOR_TOLERANCE = 1e-6  # relative: eco2AI writes the product at full float precision

# Plausibility of a row's mean power (kWh over duration), for notes only.
LOW_POWER_FRACTION = 0.05  # under 1/20 of the CPU's rated power
DEFAULT_TDP_W = 100.1  # eco2AI's CPU power when its table does not know the CPU (tools_cpu.CONSTANT_CONSUMPTION)
MAX_GPU_W = 1500.0  # per GPU device: above any accelerator's board power
MAX_RAM_W = 400.0  # eco2AI's RAM model is 3/8 W per GB used: about 1 TB

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_CPU = re.compile(r"/\s*(\d{1,4})\s*device\(s\),\s*TDP:\s*([0-9]+(?:\.[0-9]*)?)\s*$", re.ASCII)
_GPU = re.compile(r"(\d{1,4})\s*device\(s\)\s*$", re.ASCII)


def strict_number(text) -> float | None:
    """A finite decimal number as eco2AI writes one ("0.5", "1e-05", "-0"); None for anything else
    (empty, "nan", "inf", "1_000", "0x10", a number with words around it)."""
    if not isinstance(text, str) or not _NUMBER.fullmatch(text.strip()):
        return None
    value = float(text.strip())
    return value if math.isfinite(value) else None


def header_problem(columns: list[str] | None) -> str | None:
    """Why a CSV header cannot give a value (a column named twice, a needed column missing), or None."""
    columns = list(columns or [])
    twice = sorted(name for name, count in Counter(columns).items() if count > 1)
    if twice:
        return "rejected: the header names " + ", ".join(f"{name!r}" for name in twice) + \
               " more than once (which one would count?)"
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        return "rejected: no " + ", ".join(f"{name!r}" for name in missing) + " column"
    return None


def row_problem(row: Mapping) -> str | None:
    """Why one eco2AI row (a csv.DictReader dict of strings) is not a usable CO2 value, or None.

    Its cells must match the header, its duration, energy and CO2 must be numbers above 0, and its
    CO2 per MWh must lie within the emission factors eco2AI itself uses."""
    if None in row:
        return "rejected: the row has more cells than the header"
    if any(row.get(name) is None for name in REQUIRED_COLUMNS):
        return "rejected: the row has fewer cells than the header"
    values = {}
    for name in REQUIRED_COLUMNS:
        raw = str(row[name])[:40]
        value = strict_number(row[name])
        if value is None:
            return f"rejected: {name} {raw!r} is not a finite number"
        if not value > 0:
            return f"rejected: {name} {raw!r} is not above 0"
        values[name] = value
    factor = values[CO2] / values[KWH] * 1000.0
    low = FACTOR_MIN_KG_PER_MWH * (1 - FACTOR_TOLERANCE)
    high = FACTOR_MAX_KG_PER_MWH * (1 + FACTOR_TOLERANCE)
    if not low <= factor <= high:
        return (f"rejected: {values[CO2]:.6g} kg of CO2 for {values[KWH]:.6g} kWh is {factor:.6g} kg per MWh, outside "
                f"the emission factors eco2AI uses ({FACTOR_MIN_KG_PER_MWH:g}-{FACTOR_MAX_KG_PER_MWH:g} kg per MWh, "
                f"{FACTOR_SOURCE})")
    return None


def rated_power_w(row: Mapping) -> tuple[float, float, bool]:
    """(the CPUs' rated power in W, the most the row's devices could draw in W, whether the CPU
    name carried a TDP) from eco2AI's "NAME/N device(s), TDP:T" and "NAME N device(s)" cells."""
    cpu = _CPU.search(str(row.get(CPU_NAME) or ""))
    cpus, tdp = (int(cpu.group(1)), float(cpu.group(2))) if cpu else (1, DEFAULT_TDP_W)
    gpu = _GPU.search(str(row.get(GPU_NAME) or ""))
    gpus = int(gpu.group(1)) if gpu else 0
    rated_cpu = max(cpus, 1) * tdp
    return rated_cpu, rated_cpu + gpus * MAX_GPU_W + MAX_RAM_W, cpu is not None


def power_notes(row: Mapping) -> list[str]:
    """Notes on a consistent row whose mean power is implausible (empty when it is plausible)."""
    kwh, seconds = strict_number(row.get(KWH)), strict_number(row.get(DURATION))
    if not kwh or not seconds or kwh <= 0 or seconds <= 0:
        return []
    power = kwh * 3.6e6 / seconds
    rated_cpu, ceiling, known = rated_power_w(row)
    notes = []
    if known and power < LOW_POWER_FRACTION * rated_cpu:
        notes.append(f"implausible power: {kwh:.6g} kWh in {seconds:.6g} s is a mean {power:.3g} W, under "
                     f"1/{1 / LOW_POWER_FRACTION:.0f} of the CPU's rated {rated_cpu:g} W (eco2AI counts TDP x the "
                     "process's CPU share): was this CSV written by the training run, or did eco2AI sample an idle "
                     "process?")
    if power > ceiling:
        notes.append(f"implausible power: {kwh:.6g} kWh in {seconds:.6g} s is a mean {power:.4g} W, more than the "
                     f"row's devices can draw (at most {ceiling:g} W): its energy and duration disagree")
    return notes


def judge_row(columns: list[str] | None, row: Mapping | None) -> tuple[float | None, str | None, list[str]]:
    """(the row's CO2 in kg, or None; why it is rejected, or None; implausibility notes) for the
    TargetValue row of a CSV with header `columns` (None: there is no such row)."""
    problem = header_problem(columns)
    if problem is None and row is None:
        problem = "no TargetValue row"
    if problem is None:
        problem = row_problem(row)
    if problem is not None:
        return None, problem, []
    return strict_number(row[CO2]), None, power_notes(row)
