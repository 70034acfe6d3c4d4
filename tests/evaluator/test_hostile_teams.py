"""The leaderboard against crafted team folders: every failure is that team's unranked error row,
nothing is read outside a team folder, outputs are escaped, and one submission's cost is bounded."""

import csv
import io
import json
import os
import random

import pytest
from evaluator_fixtures import image, make_image, row, text, write_emissions
from helpers.scripts import load_script
from PIL import Image

from evaluator.cli import main
from evaluator.errors import InputError
from evaluator.io import images as images_module
from evaluator.io.display import clean_text
from evaluator.io.files import read_inside, read_json_object
from evaluator.io.predictions import MAX_ANSWER_CHARS, read_prediction
from evaluator.leaderboard.rank import build_leaderboard
from evaluator.options import ScoreOptions
from evaluator.report.board_csv import csv_cell, render_csv
from evaluator.report.markdown import markdown_cell, render_markdown
from evaluator.report.text import render_board as render_terminal

fuzz = load_script("fuzz_teams")


def board_of(fbc2_set, folders):
    return build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path), [str(f) for f in folders],
                             options=ScoreOptions(progress=False))


def team(fbc2_set, name, predictions=None):
    folder = fbc2_set.root / name
    predictions = fbc2_set.perfect_predictions(name) if predictions is None else predictions
    folder.mkdir(exist_ok=True)
    (folder / "predictions.json").write_text(json.dumps(predictions), encoding="utf-8")  # \u escapes: lone surrogates too
    return folder


def by_folder(board, folder):
    return next(e for e in board.to_json()["entries"] if e["directory"] == str(folder))


@pytest.mark.parametrize("content, reason", [
    ('{"0": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ('{"0": ' + "9" * 5000 + "}", "Exceeds the limit"),
    ("{oops", "not valid JSON"),
    ("[]", "must hold a JSON object"),
])
def test_an_unparseable_predictions_file_is_that_teams_error_row(fbc2_set, content, reason):
    good = team(fbc2_set, "good")
    bad = fbc2_set.root / "bad"
    bad.mkdir()
    (bad / "predictions.json").write_text(content, encoding="utf-8")
    board = board_of(fbc2_set, [bad, good])
    assert [(e["team"], e["rank"]) for e in board.to_json()["entries"]] == [("good", 1), ("bad", None)]
    assert reason in by_folder(board, bad)["error"]


def test_unparseable_shared_file_is_one_line_and_exit_2(fbc2_set, capsys):
    fbc2_set.gt_path.write_text('{"0": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    good = team(fbc2_set, "good")
    assert main(["leaderboard", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
                 "--quiet", str(good)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ground-truth file " in err and "not usable JSON (nested too deeply)" in err


def test_a_fifo_is_refused_not_waited_on(fbc2_set):
    fifo_team = fbc2_set.root / "fifo"
    fifo_team.mkdir()
    os.mkfifo(fifo_team / "predictions.json")
    os.mkfifo(fifo_team / "name.txt")
    os.mkfifo(fifo_team / "emission.csv")
    board = board_of(fbc2_set, [fifo_team])  # would block forever on open() without O_NONBLOCK + S_ISREG
    entry = board.to_json()["entries"][0]
    assert entry["rank"] is None and "not a regular file" in entry["error"]
    assert entry["team"] == "fifo" and "not a regular file" in entry["co2_note"]


def test_links_out_of_the_team_folder_are_not_followed(fbc2_set, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET", encoding="utf-8")
    linked = fbc2_set.root / "linked"
    linked.mkdir()
    (linked / "predictions.json").symlink_to(secret)
    (linked / "name.txt").symlink_to(secret)
    board = board_of(fbc2_set, [linked])
    entry = board.to_json()["entries"][0]
    assert entry["team"] == "linked" and "leaves its folder" in entry["error"]
    assert "SECRET" not in json.dumps(board.to_json())
    with pytest.raises(InputError, match="leaves its folder"):
        read_inside(str(linked), "name.txt", 100, "name.txt")


def test_a_link_inside_the_folder_is_followed(fbc2_set):
    folder = team(fbc2_set, "inner")
    (folder / "real_name.txt").write_text("Inner Team", encoding="utf-8")
    (folder / "name.txt").symlink_to(folder / "real_name.txt")
    assert board_of(fbc2_set, [folder]).to_json()["entries"][0]["team"] == "Inner Team"


@pytest.mark.parametrize("bad_path, kind", [("a\x00b.png", "bad_content"), ("\ud800.png", "bad_content"),
                                            ("/etc/passwd", "image_outside"), ("../gt/images/4.png", "image_outside")])
def test_hostile_image_paths_are_sample_problems(fbc2_set, bad_path, kind):
    predictions = fbc2_set.perfect_predictions("p")
    predictions["4"] = image(bad_path)
    board_entry = board_of(fbc2_set, [team(fbc2_set, "p", predictions)]).to_json()["entries"][0]
    assert board_entry["rank"] == 1 and board_entry["problems"] == 1
    prediction = read_prediction(predictions["4"], True, "ImageGeneration", "4", "image", str(fbc2_set.root / "p"))
    assert prediction.image_path is None and prediction.problem.kind == kind


def test_non_utf8_and_control_character_names(fbc2_set):
    a, b = team(fbc2_set, "a"), team(fbc2_set, "b")
    (a / "name.txt").write_bytes(b"Caf\xe9 \x1b[31mRed\x1b[0m\n")
    (b / "name.txt").write_bytes("\u202eevil\x07 team".encode())
    board = board_of(fbc2_set, [a, b])
    names = {e["directory"]: e["team"] for e in board.to_json()["entries"]}
    assert names[str(a)] == "Caf\ufffd [31mRed[0m" and names[str(b)] == "evil team"
    assert "name.txt is not UTF-8" in by_folder(board, a)["notes"][0]
    assert "\x1b" not in render_terminal(board)


def test_teams_sharing_a_name_are_told_apart_and_flagged(fbc2_set):
    folders = [team(fbc2_set, name) for name in ("x", "y")]
    for folder in folders:
        (folder / "name.txt").write_text("Same\n", encoding="utf-8")
        write_emissions(folder / "emission.csv", [row("r", "TargetValue", "N/A", "3600", "1", "0.5")])
    board = build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path), [str(f) for f in folders],
                              options=ScoreOptions(progress=False), baseline=0.0)
    assert sorted(e["team"] for e in board.to_json()["entries"]) == ["Same (x)", "Same (y)"]
    assert all(e["duplicate_name"] for e in board.to_json()["entries"])
    # equal scores and CO2: the nomination is their common score, nobody is strictly above it
    assert board.to_json()["sustainable_winner"] is None
    assert "[same name]" in render_terminal(board)


@pytest.mark.parametrize("co2", ["-0.5", "nan", "inf", "-inf"])
def test_a_bad_co2_never_wins_the_nomination(fbc2_set, co2):
    """Three teams: best (0.2667) with a bad CO2, then two lower; the nomination is beaten by 'best' only."""
    best = team(fbc2_set, "best")
    write_emissions(best / "emission.csv", [row("r", "TargetValue", "N/A", "1", "1", co2)])
    half = {sid: v for sid, v in fbc2_set.perfect_predictions("half").items() if sid in {"0", "2", "8", "10"}}
    folders = [best, team(fbc2_set, "half", half), team(fbc2_set, "quarter", {"0": text("a Толстой")})]
    board = build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path), [str(f) for f in folders],
                              options=ScoreOptions(progress=False), baseline=0.0)
    entry = by_folder(board, best)
    assert entry["co2_kg"] is None and entry["co2_note"].startswith("rejected: CO2")
    assert board.to_json()["sustainable_winner"] is None
    assert "rejected: CO2" in render_terminal(board)


def test_csv_cells_cannot_be_formulas():
    assert csv_cell('=HYPERLINK("http://x","y")') == "'=HYPERLINK(\"http://x\",\"y\")"
    assert [csv_cell(v) for v in ("+1+1", "@SUM(A1)", "-cmd", "\tx", "\rx")] == ["'+1+1", "'@SUM(A1)", "'-cmd", "'\tx",
                                                                                  "'\rx"]
    assert csv_cell("-0.25") == "-0.25" and csv_cell("Team") == "Team"


def test_markdown_cells_are_literal():
    cell = markdown_cell("<img src=x onerror=alert(1)> | *bold* [link](http://x)\nline")
    assert "<" not in cell.replace("\\<", "") and "\\|" in cell and "\\*bold\\*" in cell and "\\[link\\]" in cell
    assert "\n" not in cell


def test_hostile_names_in_every_rendering(fbc2_set):
    folder = team(fbc2_set, "f")
    (folder / "name.txt").write_text('=HYPERLINK("http://evil","click") <b>x</b> | y', encoding="utf-8")
    board = board_of(fbc2_set, [folder])
    rows = list(csv.reader(io.StringIO(render_csv(board))))
    assert rows[1][1].startswith("'=HYPERLINK")
    markdown = render_markdown(board)
    assert "<b>" not in markdown and "\\<b\\>" in markdown


def test_random_json_values_never_stop_scoring(fbc2_set):
    """Property: any JSON value for any sample is scored or counted as that sample's problem."""
    rng = random.Random(7)
    for round_ in range(30):
        predictions = {sid: fuzz.random_json(rng) for sid in fbc2_set.ground_truth if rng.random() < 0.8}
        board = board_of(fbc2_set, [team(fbc2_set, f"r{round_}", predictions)])
        entry = board.to_json()["entries"][0]
        if entry["error"] is None:
            assert 0.0 <= entry["integral"] <= 1.0 and entry["problems"] >= 0
        else:  # only the whole-set checks may refuse a team
            assert "another set" in entry["error"] or "swapped" in entry["error"], entry["error"]


def test_long_answers_are_cut_for_the_metrics(fbc2_set):
    predictions = {"0": text("a Толстой" + " слово" * 2_000_000)}
    assert len(read_prediction(predictions["0"], True, "TextQA", "0", "text", ".").text) == MAX_ANSWER_CHARS


def test_image_decoding_is_bounded(tmp_path, monkeypatch):
    big_png = make_image(tmp_path / "big.png", (10, 20, 30), size=(300, 200))
    monkeypatch.setattr(images_module, "MAX_DECODED_PIXELS", 100 * 100)
    with pytest.raises(InputError, match="300x200 is more than 10000 pixels"):  # refused before decoding
        images_module.open_rgb(str(big_png))
    monkeypatch.setattr(images_module, "MAX_DECODED_PIXELS", 4096 * 4096)
    jpeg = tmp_path / "big.jpg"
    Image.new("RGB", (2400, 1600), (200, 10, 10)).save(jpeg, quality=90)
    opened = images_module.open_rgb(str(jpeg))
    assert max(opened.size) <= images_module.KEPT_SIDE and opened.size[0] / opened.size[1] == pytest.approx(1.5, 0.01)
    small = images_module.open_rgb(str(big_png))
    assert small.size == (300, 200)  # images under KEPT_SIDE are untouched


def test_clean_text_removes_controls_and_cuts():
    assert clean_text("a\x00b\x1b[0m\u202ec\ud800d\ne", 100) == "ab[0mcde"
    assert clean_text("x" * 10, 5) == "xxxx…"


def test_team_folder_that_is_a_file_or_missing(fbc2_set):
    afile = fbc2_set.root / "afile"
    afile.write_text("x", encoding="utf-8")
    board = board_of(fbc2_set, [afile, fbc2_set.root / "absent", team(fbc2_set, "ok")])
    errors = {e["team"]: e["error"] for e in board.to_json()["entries"]}
    assert "is a file, not a team folder" in errors["afile"] and "team folder not found" in errors["absent"]
    assert errors["ok"] is None


def test_load_json_refuses_what_it_cannot_read(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="is a folder, not a file"):
        read_json_object(str(tmp_path / "d"), "predictions")
    with pytest.raises(InputError, match="predictions file not found"):
        read_json_object(str(tmp_path / "nope.json"), "predictions")
    with pytest.raises(InputError, match="NUL"):
        read_json_object("a\x00b", "predictions")


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_rounds(tmp_path, seed):
    fuzz.run_round(seed, tmp_path)


@pytest.mark.slow
def test_fuzz_many_rounds(tmp_path):
    for seed in range(100, 130):
        fuzz.run_round(seed, tmp_path)


def test_random_unicode_answers_are_scored(fbc2_set):
    """Property: any string (lone surrogates, controls, any plane) as every text answer is scored."""
    rng = random.Random(11)
    for round_ in range(5):
        answer = "".join(chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x400, 0x4FF), rng.randint(0xD800, 0xDFFF),
                                         rng.randint(0x1F300, 0x1F6FF)])) for _ in range(rng.randint(1, 40)))
        predictions = {sid: text(answer) for sid, tid in fbc2_set.task_ids.items() if tid != 2}
        entry = board_of(fbc2_set, [team(fbc2_set, f"u{round_}", predictions)]).to_json()["entries"][0]
        assert entry["error"] is None and 0.0 <= entry["integral"] <= 1.0, (answer, entry["error"])
