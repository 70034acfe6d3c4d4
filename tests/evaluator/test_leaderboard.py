"""The leaderboard: ranking, the sustainability nomination rule, the renderings."""

import csv
import io
import shutil
import types

import pytest
from evaluator_fixtures import row, write_emissions

from evaluator.leaderboard.rank import build_leaderboard, nomination_threshold, sustainable_winner
from evaluator.options import ScoreOptions
from evaluator.report.board_csv import render_csv
from evaluator.report.gallery import leaderboard_gallery
from evaluator.report.html import render_leaderboard_html
from evaluator.report.markdown import render_markdown
from evaluator.report.text import render_board as render_terminal


def entry(team: str, integral: float, co2_kg: float | None):
    """What the nomination reads of a leaderboard entry."""
    return types.SimpleNamespace(team=team, integral=integral, co2_kg=co2_kg)


def test_nomination_on_a_constructed_example():
    # scores above the baseline 0.24: M = [0.9, 0.9, 0.3, 0.3, 0.3] (0.2 is left out)
    # mean = 2.7/5 = 0.54; deviations 0.36, 0.36, -0.24 x3
    # population variance = (2*0.1296 + 3*0.0576)/5 = 0.432/5 = 0.0864; std = 0.293939
    # nomination = 0.54 + 0.293939 = 0.833939
    nomination, above = nomination_threshold([0.9, 0.9, 0.3, 0.3, 0.3, 0.2], baseline=0.24)
    assert above == [0.9, 0.9, 0.3, 0.3, 0.3]
    assert nomination == pytest.approx(0.54 + 0.0864 ** 0.5)
    entries = [
        entry("A", 0.9, 12.0),
        entry("B", 0.9, 3.5),
        entry("C", 0.3, 0.1),  # lowest CO2 but below the nomination
        entry("D", 0.2, 0.01),
    ]
    assert sustainable_winner(entries, nomination).team == "B"


def test_no_score_above_baseline_means_no_nomination():
    assert nomination_threshold([0.1, 0.24], baseline=0.24) == (None, [])  # 0.24 does not beat 0.24
    assert sustainable_winner([entry("A", 0.1, 1.0)], None) is None


def test_winner_needs_a_known_co2():
    entries = [entry("A", 0.9, None), entry("B", 0.8, 2.0)]
    assert sustainable_winner(entries, 0.7).team == "B"


@pytest.fixture
def teams(fbc2_set):
    """Three teams: perfect (4/15), half the text answers, and a broken predictions.json."""
    perfect = fbc2_set.perfect_predictions("perfect")
    fbc2_set.write_predictions(perfect, "perfect")
    (fbc2_set.root / "perfect" / "name.txt").write_text("Team Perfect\n", encoding="utf-8")
    write_emissions(fbc2_set.root / "perfect" / "emission.csv", [row("r", "TargetValue", "N/A", "3600", "1", "0.7")])
    half = {sid: value for sid, value in perfect.items() if sid in {"0", "2", "8", "10"}}
    fbc2_set.write_predictions(half, "half")
    (fbc2_set.root / "broken").mkdir()
    (fbc2_set.root / "broken" / "predictions.json").write_text("{oops", encoding="utf-8")
    return [str(fbc2_set.root / name) for name in ("half", "broken", "perfect")]


def test_leaderboard_ranks_and_renders(fbc2_set, teams):
    board = build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path), teams,
                              input_path=str(fbc2_set.input_path), options=ScoreOptions(progress=False))
    ranked = [(e["rank"], e["team"]) for e in board.to_json()["entries"]]
    assert ranked == [(1, "Team Perfect"), (2, "half"), (None, "broken")]  # a failed team is not ranked
    assert board.to_json()["entries"][0]["integral"] == pytest.approx(4 / 15)
    assert board.to_json()["entries"][1]["integral"] == pytest.approx(2 / 15)  # four text tasks at 0.5 each
    assert "not valid JSON" in board.to_json()["entries"][2]["error"]
    # only 4/15 = 0.2667 beats 0.24: nomination = 0.2667 + 0 -> nobody is strictly above it
    assert board.to_json()["nomination"] == pytest.approx(4 / 15) and board.to_json()["sustainable_winner"] is None
    assert board.to_json()["entries"][0]["co2_kg"] == pytest.approx(0.7)
    assert board.to_json()["entries"][0]["thresholds_summary"] == "4/4 scoreable pass, 2 not computed"

    lowered = build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path), teams,
                                options=ScoreOptions(progress=False), baseline=0.1)
    # M = [4/15, 2/15]: mean 0.2, population std 1/15 -> nomination 0.2667 = 4/15, not strictly above
    assert lowered.to_json()["nomination"] == pytest.approx(0.2 + 1 / 15)

    text = render_terminal(board)
    assert "Team Perfect" in text and "nomination" in text
    assert text.index("Not ranked (1 failed):") < text.index("broken: predictions file ")
    rows = list(csv.DictReader(io.StringIO(render_csv(board))))
    assert [r["rank"] for r in rows] == ["1", "2", ""] and rows[2]["error"].startswith("predictions file") and "not valid JSON" in rows[2]["error"]
    assert rows[0]["team"] == "Team Perfect" and float(rows[0]["integral"]) == pytest.approx(4 / 15)
    assert float(rows[1]["TextQA"]) == 0.5 and float(rows[1]["TextQA_stderr"]) > 0
    assert float(rows[0]["co2_kg"]) == pytest.approx(0.7)
    markdown = render_markdown(board)
    assert markdown.startswith("| rank | team |") and "| 1 | Team Perfect | 0.2667 ± 0.0000 | yes | 0 | 0 | 4/4" in markdown
    assert "| 700 g |" in markdown  # CO2 in grams
    page = render_leaderboard_html(board, leaderboard_gallery(board))
    generation = page[page.index("<h3>ImageGeneration"):page.index("<h3>ImageCaptioning")]
    assert generation.count("data:image/jpeg;base64,") == 2 + 2  # 2 ground truth + perfect's 2 (half has none)
    assert "<script" not in page and "http" not in page  # self-contained


def test_team_without_emission_file(fbc2_set, teams):
    shutil.rmtree(fbc2_set.root / "broken")
    board = build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path), teams[::2],
                              options=ScoreOptions(progress=False))
    half = [e for e in board.to_json()["entries"] if e["team"] == "half"][0]
    assert half["co2_kg"] is None and half["co2_note"] == "no emission.csv"


def test_gallery_reads_a_team_whose_folder_path_is_over_200_characters(fbc2_set):
    # the shown folder string is escaped and cut at 200 characters; the gallery must use the path itself
    folder = "/".join(["long-" + "x" * 60] * 4) + "/team"
    assert len(str(fbc2_set.root / folder)) > 200
    fbc2_set.write_predictions(fbc2_set.perfect_predictions(folder), folder)
    board = build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path), [str(fbc2_set.root / folder)],
                              input_path=str(fbc2_set.input_path), options=ScoreOptions(progress=False))
    entry = board.to_json()["entries"][0]
    assert entry["rank"] == 1 and entry["directory"].endswith("…") and len(entry["directory"]) == 200
    page = render_leaderboard_html(board, leaderboard_gallery(board))
    generation = page[page.index("<h3>ImageGeneration"):page.index("<h3>ImageCaptioning")]
    assert generation.count("data:image/jpeg;base64,") == 2 + 2  # 2 ground truth + the team's 2, none "none"
    assert "team: none" not in page


def test_ties_share_a_rank_and_missing_counts_are_columns(fbc2_set, teams):
    shutil.copytree(fbc2_set.root / "half", fbc2_set.root / "half2")
    no_images = {sid: v for sid, v in fbc2_set.perfect_predictions("noimg").items() if sid not in {"4", "5"}}
    fbc2_set.write_predictions(no_images, "noimg")  # the same text answers as perfect, no images at all
    board = build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path),
                              teams + [str(fbc2_set.root / "half2"), str(fbc2_set.root / "noimg")],
                              input_path=str(fbc2_set.input_path), options=ScoreOptions(progress=False))
    entries = board.to_json()["entries"]
    # noimg ties with Team Perfect (ImageGeneration is not computed without weights), half with half2
    assert [(e["rank"], e["team"]) for e in entries] == [(1, "Team Perfect"), (1, "noimg"), (3, "half"),
                                                         (3, "half2"), (None, "broken")]
    assert [(e["missing"], e["malformed"]) for e in entries[:4]] == [(0, 0), (2, 0), (8, 0), (8, 0)]
    rows = list(csv.DictReader(io.StringIO(render_csv(board))))
    assert [(r["rank"], r["missing"], r["malformed"]) for r in rows] == [
        ("1", "0", "0"), ("1", "2", "0"), ("3", "8", "0"), ("3", "8", "0"), ("", "", "")]
    assert rows[0]["not_computed"] == "ImageGeneration; ImageCaptioning"
    text = render_terminal(board)
    header = text.splitlines()[0].split()
    assert header[:7] == ["rank", "team", "integral", "partial", "missing", "malformed", "thresholds"]
    noimg_line = next(line for line in text.splitlines() if line.startswith("1     noimg"))
    assert " 2        0 " in noimg_line  # missing 2, malformed 0
    half2 = next(line for line in render_markdown(board).splitlines() if line.startswith("| 3 | half2 |"))
    assert half2.startswith("| 3 | half2 | 0.1333 ± ") and "| yes | 8 | 0 | 4/4 scoreable pass" in half2


def test_columns_that_cannot_be_computed_say_so(fbc2_set, teams):
    board = build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path), teams,
                              input_path=str(fbc2_set.input_path), options=ScoreOptions(progress=False))
    # without CLIP/FID weights no team has an ImageGeneration or ImageCaptioning score: the columns stay
    assert board.tasks_in_set == ["TextQA", "MathQA", "ImageGeneration", "ImageCaptioning", "VisualQA", "TRitW"]
    text = render_terminal(board)
    assert "ImageGeneration" in text.splitlines()[0] and text.count("not computed") >= 4  # 2 teams x 2 tasks
    page = render_leaderboard_html(board)
    assert "<th>ImageCaptioning</th>" in page and page.count("<td class='num nc'>not computed</td>") == 4
    markdown = render_markdown(board)
    assert "ImageGeneration" in markdown.splitlines()[0] and "not computed" in markdown


def test_best_possible_integral_and_the_baseline_warning(fbc2_set, teams):
    board = build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path), teams,
                              input_path=str(fbc2_set.input_path), options=ScoreOptions(progress=False))
    # four text tasks computable out of the registry's 6 open (1/15 each) + 6 hidden (1/10 each) = 4/15
    assert board.best_integral == pytest.approx(4 / 15)
    data = board.to_json()
    assert data["best_integral"] == pytest.approx(4 / 15) and "full integral score" in data["baseline_warning"]
    assert data["entries"][0]["best_integral"] == pytest.approx(4 / 15)
    text = render_terminal(board)
    assert "Best integral possible on this set with these weights: 0.2667. WARNING: the baseline 0.24" in text
    assert "WARNING: the baseline 0.24" in render_markdown(board) and "WARNING: the baseline 0.24" in \
        render_leaderboard_html(board)
    lowered = build_leaderboard(str(fbc2_set.gt_path), str(fbc2_set.task_ids_path), teams,
                                options=ScoreOptions(progress=False), baseline=0.1)
    assert lowered.comparison_warning() is None  # a baseline chosen for this set: no warning
