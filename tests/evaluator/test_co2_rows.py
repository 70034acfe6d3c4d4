"""CO2 rows consistent or rejected (crafted emission.csv files never win), and implausible power notes."""

import csv
import importlib.util
import io
import json
from pathlib import Path

import pytest

from evaluator import co2_rows
from evaluator.cli import main
from evaluator.co2_rows import header_problem, judge_row, power_notes, row_problem, strict_number

# the column order eco2ai 0.3.12 writes
HEADER = ["id", "project_name", "experiment_description", "epoch", "start_time", "duration(s)",
          "power_consumption(kWh)", "CO2_emissions(kg)", "CPU_name", "GPU_name", "OS", "region/country", "cost"]


def eco2ai_row(duration="36000.0", kwh="0.5", co2="0.2182645", cpu="Intel Xeon/1 device(s), TDP:61.0",
               gpu=" 0 device(s)"):
    return ["r1", "FBC2", "TargetValue", "N/A", "2026-11-21 16:29:15", duration, kwh, co2, cpu, gpu, "Linux",
            "RU", "0"]


def parse(header, cells):
    """The file as a stranger writes it, read back as the evaluator reads it (csv.DictReader)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerow(cells)
    reader = csv.DictReader(io.StringIO(buffer.getvalue()))
    rows = list(reader)
    return reader.fieldnames, rows[0]


def test_a_genuine_row_is_accepted_with_its_value():
    # 0.5 kWh in 10 hours (50 W on a 61 W CPU) at eco2AI's world factor 436.529 kg/MWh = 0.2182645 kg
    columns, row = parse(HEADER, eco2ai_row())
    assert judge_row(columns, row) == (0.2182645, None, [])


@pytest.mark.parametrize("co2", ["-0", "0.0", "5e-324", "0", "-0.0", "-1e-3"])
def test_a_zero_or_vanishing_co2_next_to_half_a_kwh_is_rejected(co2):
    columns, row = parse(HEADER, eco2ai_row(co2=co2))
    value, problem, notes = judge_row(columns, row)
    assert value is None and problem.startswith("rejected:") and notes == []


def test_5e_324_is_rejected_for_its_factor_not_its_sign():
    columns, row = parse(HEADER, eco2ai_row(co2="5e-324"))
    assert "outside the emission factors eco2AI uses" in row_problem(row)


@pytest.mark.parametrize(("co2", "accepted"), [("0.0006", True), ("0.00059", False), ("0.48", True),
                                                ("0.4801", False)])
def test_the_factor_range_boundaries(co2, accepted):
    # 0.5 kWh: 0.0006 kg is 1.2 kg/MWh (lowest non-zero factor), 0.48 kg is 960 kg/MWh (highest)
    columns, row = parse(HEADER, eco2ai_row(co2=co2))
    assert (row_problem(row) is None) is accepted


@pytest.mark.parametrize(("field", "value"), [("duration", "0"), ("duration", "-5"), ("kwh", "0"), ("kwh", "-0.5"),
                                              ("kwh", "nan"), ("duration", "inf"), ("co2", "1_000"), ("co2", ""),
                                              ("co2", "0x10"), ("kwh", "0.5 kWh")])
def test_duration_energy_and_co2_must_be_plain_numbers_above_zero(field, value):
    columns, row = parse(HEADER, eco2ai_row(**{field: value}))
    assert judge_row(columns, row)[1].startswith("rejected:")


def test_a_second_co2_column_rejects_the_file_instead_of_using_the_last():
    # a genuine row, then a planted second CO2 column with a tiny value that DictReader would keep
    columns, row = parse(HEADER + ["CO2_emissions(kg)"], eco2ai_row(co2="0.2182645") + ["0.0000001"])
    assert row["CO2_emissions(kg)"] == "0.0000001"  # what a plain DictReader reader would have used
    value, problem, _ = judge_row(columns, row)
    assert value is None and "'CO2_emissions(kg)' more than once" in problem


def test_cells_must_match_the_header():
    columns, longer = parse(HEADER, eco2ai_row() + ["0.0000001"])
    assert row_problem(longer) == "rejected: the row has more cells than the header"
    columns, shorter = parse(HEADER, eco2ai_row()[:6])
    assert row_problem(shorter) == "rejected: the row has fewer cells than the header"


def test_missing_columns_and_rows():
    assert header_problem(["id", "CO2_emissions(kg)"]) == \
        "rejected: no 'duration(s)', 'power_consumption(kWh)' column"
    assert judge_row(HEADER, None) == (None, "no TargetValue row", [])


def test_strict_numbers():
    assert strict_number(" 1e-05 ") == 1e-05 and strict_number("-0") == 0.0 and strict_number(".5") == 0.5
    assert [strict_number(t) for t in ("nan", "inf", "-inf", "1_0", "", None, "1e999", "１")] == [None] * 8


def test_a_mean_power_far_below_the_cpu_rating_is_a_note():
    # the issue's training CSV: 0.371 W mean on a 61 W CPU (0.371 W x 3600 s = 0.000371 kWh)
    columns, row = parse(HEADER, eco2ai_row(duration="3600", kwh="0.000371", co2="0.000128737"))
    value, problem, notes = judge_row(columns, row)
    assert value == 0.000128737 and problem is None
    assert len(notes) == 1 and "mean 0.371 W, under 1/20 of the CPU's rated 61 W" in notes[0]


def test_the_demo_vqgan_csv_is_flagged_low():
    # weights/demo/emission_vqgan.csv: 0.000639... kWh in 2015.02 s = 1.14 W on "TDP:500.0"
    path = Path(__file__).resolve().parents[2] / "weights" / "demo" / "emission_vqgan.csv"
    row = next(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert row_problem(row) is None
    assert "mean 1.14 W, under 1/20 of the CPU's rated 500 W" in power_notes(row)[0]


def test_plausible_cpu_power_gives_no_note():
    # run.py on the same machine: 12.5 W on 61 W
    columns, row = parse(HEADER, eco2ai_row(duration="3600", kwh="0.0125", co2="0.00545661"))
    assert power_notes(row) == []


def test_energy_and_duration_that_disagree_are_a_note():
    # 0.5 kWh in one second is 1.8 MW; one CPU at 61 W and one GPU can draw at most 61 + 1500 + 400 W
    columns, row = parse(HEADER, eco2ai_row(duration="1", gpu="NVIDIA A100 1 device(s)"))
    notes = power_notes(row)
    assert len(notes) == 1 and "mean 1.8e+06 W, more than the row's devices can draw (at most 1961 W)" in notes[0]


def test_the_factor_range_is_eco2ai_s_own():
    spec = importlib.util.find_spec("eco2ai")  # the table is read without importing eco2AI
    if spec is None or spec.origin is None:
        pytest.skip("eco2ai is not installed: its carbon_index.csv cannot be compared")
    table = Path(spec.origin).parent / "data" / "carbon_index.csv"
    rows = list(csv.DictReader(io.StringIO(table.read_text(encoding="utf-8"))))
    factors = [float(r["Emission intensity, kg/MWh"]) for r in rows if r["Emission intensity, kg/MWh"].strip()]
    assert min(f for f in factors if f > 0) == co2_rows.FACTOR_MIN_KG_PER_MWH
    assert max(factors) == co2_rows.FACTOR_MAX_KG_PER_MWH


# ----- in the leaderboard ------------------------------------------------------------------------
def team_with_co2(fbc2_set, folder, header, cells, predictions=None):
    fbc2_set.write_predictions(predictions if predictions is not None else fbc2_set.perfect_predictions(folder), folder)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerow(cells)
    (fbc2_set.root / folder / "emission.csv").write_text(buffer.getvalue(), encoding="utf-8")
    return fbc2_set.root / folder


@pytest.mark.parametrize(("header", "cells"), [
    (HEADER, eco2ai_row(co2="-0")), (HEADER, eco2ai_row(co2="0.0")), (HEADER, eco2ai_row(co2="5e-324")),
    (HEADER + ["CO2_emissions(kg)"], eco2ai_row() + ["0.0000001"])])
def test_a_crafted_co2_never_wins_and_is_not_eligible(fbc2_set, tmp_path, header, cells):

    best = team_with_co2(fbc2_set, "best", header, cells)
    half = {sid: v for sid, v in fbc2_set.perfect_predictions("half").items() if sid in {"0", "2", "8", "10"}}
    honest = team_with_co2(fbc2_set, "half", HEADER, eco2ai_row(co2="0.2"), half)
    low = team_with_co2(fbc2_set, "low", HEADER, eco2ai_row(co2="0.1"), {"0": [{"type": "text", "content": "a"}]})
    out = tmp_path / "board.json"
    assert main(["leaderboard", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
                 "--quiet", "--baseline", "0", str(best), str(honest), str(low), "--json", str(out)]) == 0
    board = json.loads(out.read_text(encoding="utf-8"))
    entries = {e["name"]: e for e in board["entries"]}
    assert entries["best"]["co2_kg"] is None and entries["best"]["co2_note"].startswith("rejected:")
    assert board["sustainable_winner"] is None  # only 'best' is above the nomination, and its CO2 is rejected
    assert entries["best"]["sustainable"].startswith("not eligible: rejected:")


def test_an_implausible_power_is_a_visible_note(fbc2_set, tmp_path):

    team = team_with_co2(fbc2_set, "idle", HEADER, eco2ai_row(duration="3600", kwh="0.000371", co2="0.000128737"))
    out, text = tmp_path / "board.json", tmp_path / "board.md"
    assert main(["leaderboard", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
                 "--quiet", str(team), "--json", str(out), "--markdown", str(text)]) == 0
    entry = json.loads(out.read_text(encoding="utf-8"))["entries"][0]
    assert entry["co2_kg"] == 0.000128737
    assert any("implausible power" in note for note in entry["co2_notes"])
    assert "implausible power" in text.read_text(encoding="utf-8")
