"""eco2AI CSV parsing, the TargetValue rule, the run summary and the Pillow plots."""

import pytest
from evaluator_fixtures import row, write_emissions
from PIL import Image

from evaluator.co2 import (
    draw_plots,
    parse_epoch,
    read_emissions,
    read_loss_log,
    summarise,
    target_value_co2,
    target_value_row,
)
from evaluator.errors import InputError


@pytest.fixture
def emissions(tmp_path):
    return write_emissions(tmp_path / "emission.csv", [
        row("r1", "RUDOLPH 350M warm-up", "N/A", "100", "0.5", "0.2"),
        row("r2", "RUDOLPH 350M TargetValue try", "N/A", "50", "0.25", "0.1"),
        row("r3", "RUDOLPH 350M params 350000000 TargetValue", "epoch: 1, loss: 2.5, ", "10", "0.05", "0.03"),
        row("r3", "RUDOLPH 350M params 350000000 TargetValue", "epoch: 2, loss: 1.5, lr: 0.001, ", "10", "0.05", "0.02"),
        row("r3", "RUDOLPH 350M params 350000000 TargetValue", "epoch: 3, loss: 1.0, ", "10", "0.05", "0.04"),
    ])


def test_parse_epoch_cell():
    assert parse_epoch("epoch: 2, loss: 1.5, lr: 0.001, ") == (2, {"loss": "1.5", "lr": "0.001"})
    assert parse_epoch("N/A") == (None, {})


def test_target_value_is_the_last_targetvalue_row(emissions):
    rows = read_emissions(emissions)
    assert target_value_row(rows)["epoch_number"] == 3
    assert target_value_co2(emissions) == (pytest.approx(0.04), None)  # not 0.1 (an earlier TargetValue row)


def test_no_targetvalue_row_gives_none(tmp_path):
    path = write_emissions(tmp_path / "e.csv", [row("r1", "plain run", "N/A", "1", "0.1", "0.05")])
    assert target_value_co2(path) == (None, "no TargetValue row")


@pytest.mark.parametrize("value, reason", [("-0.5", "is not above 0"), ("nan", "is not a finite number"),
                                           ("inf", "is not a finite number"), ("-inf", "is not a finite number"),
                                           ("1" * 400, "is not a finite number"), ("lots", "is not a finite number"),
                                           ("", "is not a finite number")])
def test_co2_must_be_a_finite_non_negative_number(tmp_path, value, reason):
    path = write_emissions(tmp_path / "e.csv", [row("r1", "TargetValue", "N/A", "1", "0.1", value)])
    co2, note = target_value_co2(path)
    assert co2 is None and note.startswith("rejected: CO2") and note.endswith(reason)


def test_summary_totals_and_epochs(emissions):
    summary = summarise(read_emissions(emissions))
    assert summary["rows"] == 5
    assert summary["total_co2_kg"] == pytest.approx(0.2 + 0.1 + 0.03 + 0.02 + 0.04)  # 0.39
    assert summary["total_kwh"] == pytest.approx(0.5 + 0.25 + 3 * 0.05)  # 0.9
    assert summary["total_duration_s"] == pytest.approx(180)
    assert summary["regions"] == ["RU"] and summary["gpus"] == ["NVIDIA A100 1 device(s)"]
    assert [(e["epoch"], e["co2_kg"], e["loss"]) for e in summary["epochs"]] == [
        (1, 0.03, 2.5), (2, 0.02, 1.5), (3, 0.04, 1.0)]


def test_csv_without_co2_column_or_absent_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="CO2_emissions"):
        read_emissions(str(bad))
    with pytest.raises(InputError, match="not found"):
        read_emissions(str(tmp_path / "absent.csv"))


def test_loss_log_with_header_and_separators(tmp_path):
    log = tmp_path / "loss.csv"
    log.write_text("epoch,loss\n1,3.0\n2\t2.0\n\n3 1.25\n", encoding="utf-8")
    assert read_loss_log(str(log)) == {1: 3.0, 2: 2.0, 3: 1.25}
    log.write_text("1,3.0\nnonsense here\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        read_loss_log(str(log))


def test_plots_are_pngs(emissions, tmp_path):
    summary = summarise(read_emissions(emissions))
    written, skipped = draw_plots(summary, str(tmp_path / "plots"), {1: 3.0, 2: 2.0, 3: 1.0})
    assert [p.rsplit("/", 1)[1] for p in written] == ["co2_per_epoch.png", "loss_vs_co2.png"] and skipped == []
    for path in written:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (800, 520)


def test_plot_without_epochs_is_skipped_with_a_reason(tmp_path):
    path = write_emissions(tmp_path / "e.csv", [row("r1", "TargetValue", "N/A", "1", "0.1", "0.05")])
    written, skipped = draw_plots(summarise(read_emissions(path)), str(tmp_path / "p"))
    assert written == [] and "no per-epoch rows" in skipped[0]
