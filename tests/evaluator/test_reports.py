"""Report contents: unranked failures, units, stderr fields, provenance, the gallery, the plots."""

import json
from html.parser import HTMLParser

import pytest
from evaluator_fixtures import row, text, write_emissions

from evaluator.cli import main
from evaluator.metrics.standard_error import bootstrap_stderr, combined_stderr
from evaluator.metrics.task_metrics import TASK_METRICS, TaskResult
from evaluator.pngplot import nice_ticks
from evaluator.provenance import command_line
from evaluator.report.format import fmt_grams, fmt_score
from evaluator.scoring.score import thresholds_summary


class Tables(HTMLParser):
    """Every table of a page as rows of (text, class) cells, with the heading before it."""

    def __init__(self):
        super().__init__()
        self.tables, self.heading, self._cell, self._in_heading = [], "", None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"heading": self.heading, "class": attrs.get("class"), "rows": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = ["", attrs.get("class") or "", 0]
        elif tag == "img" and self._cell is not None:
            self._cell[2] += 1
        elif tag in ("h2", "h3"):
            self._in_heading, self.heading = True, ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append(tuple(self._cell))
            self._cell = None
        elif tag in ("h2", "h3"):
            self._in_heading = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data
        if self._in_heading:
            self.heading += data


@pytest.fixture
def board_files(fbc2_set, tmp_path):
    perfect = fbc2_set.perfect_predictions("good")
    fbc2_set.write_predictions(perfect, "good")
    write_emissions(fbc2_set.root / "good" / "emission.csv", [row("r", "TargetValue", "N/A", "0.1", "0.000002", "0.000001")])
    fbc2_set.write_predictions({sid: v for sid, v in perfect.items() if sid in {"0", "2", "4", "8"}}, "half")
    (fbc2_set.root / "half" / "images").mkdir(exist_ok=True)
    (fbc2_set.root / "half" / "images" / "4.png").write_bytes((fbc2_set.root / "good" / "images" / "4.png").read_bytes())
    (fbc2_set.root / "broken").mkdir()
    (fbc2_set.root / "broken" / "predictions.json").write_text("{oops", encoding="utf-8")
    out = {"html": tmp_path / "board.html", "json": tmp_path / "board.json"}
    assert main(["leaderboard", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
                 "--input", str(fbc2_set.input_path), "--quiet", "--html", str(out["html"]), "--json", str(out["json"]),
                 *(str(fbc2_set.root / t) for t in ("broken", "half", "good"))]) == 0
    return out


def test_leaderboard_html_ranks_only_scored_teams_and_lists_failures_apart(board_files):
    parser = Tables()
    parser.feed(board_files["html"].read_text(encoding="utf-8"))
    ranked = next(t for t in parser.tables if t["heading"] == "Ranked submissions")
    header = [c[0] for c in ranked["rows"][0]]
    assert header[:7] == ["rank", "team", "integral ± stderr", "partial", "missing", "malformed", "thresholds"]
    assert header[-2:] == ["CO2", "sustainable"]
    body = ranked["rows"][1:]
    assert [(r[0][0], r[1][0]) for r in body] == [("1", "good"), ("2", "half")]  # 'broken' is not ranked
    assert body[0][2][0] == "0.2667 ± 0.0000" and "best" in body[0][2][1]  # best integral highlighted
    assert body[0][4][0] == "0" and body[1][4][0] == "8"  # missing: half answers 4 of 12 samples
    assert body[0][6][:2] == ("4/4 scoreable pass, 2 not computed", "pass")
    assert body[0][-2][0] == "0.001 g" and body[1][-2][0] == "- (no emission.csv)"  # grams; the reason when none
    failed = next(t for t in parser.tables if t["class"] == "failed")
    assert failed["heading"] == "Not ranked: 1 failed submission"
    assert failed["rows"][1][0][0] == "broken" and "not valid JSON" in failed["rows"][1][2][0]


def test_leaderboard_gallery_has_one_row_per_sample_with_every_team(board_files):
    parser = Tables()
    parser.feed(board_files["html"].read_text(encoding="utf-8"))
    galleries = {t["heading"]: t for t in parser.tables if t["class"] == "gallery"}
    assert list(galleries) == [f"{task}: all 2 samples" for task in
                               ("TextQA", "MathQA", "ImageGeneration", "ImageCaptioning", "VisualQA", "TRitW")]
    gallery = galleries["ImageGeneration: all 2 samples"]
    assert [c[0] for c in gallery["rows"][0]] == ["sample", "prompt", "ground truth", "good", "half"]
    rows = gallery["rows"][1:]
    assert [r[0][0] for r in rows] == ["4", "5"]  # the two ImageGeneration samples, once each
    assert rows[0][1][0] == "красный квадрат" and rows[1][1][0] == "синий квадрат"
    assert [c[2] for c in rows[0][2:]] == [1, 1, 1]  # truth, good, half: an image each
    assert [c[2] for c in rows[1][2:]] == [1, 1, 0] and rows[1][4][0] == "half: nonemissing: no prediction"
    text = galleries["TextQA: all 2 samples"]
    assert [c[0] for c in text["rows"][0]] == ["sample", "prompt", "ground truth", "good", "half"]
    first = text["rows"][1]
    assert first[0][0] == "0" and first[1][0].startswith("Ответь на вопрос. Кто написал роман?")
    assert first[2][0] == "a Толстой | a | Толстой" and first[3][0] == "a Толстойscore 1.000"
    captioning = galleries["ImageCaptioning: all 2 samples"]  # a text task on an image: its input is shown
    assert [c[0] for c in captioning["rows"][0]][:4] == ["sample", "prompt", "input", "ground truth"]
    assert captioning["rows"][1][2][2] == 1


def test_leaderboard_json_keeps_its_keys_and_adds_stderr_and_provenance(board_files, fbc2_set):
    board = json.loads(board_files["json"].read_text(encoding="utf-8"))
    assert {"entries", "sustainable_winner", "nomination", "baseline", "provenance"} <= set(board)
    entries = {e["team"]: e for e in board["entries"]}
    assert [e["team"] for e in board["entries"]] == ["good", "half", "broken"]
    assert entries["broken"]["rank"] is None and entries["broken"]["error"]
    assert entries["good"]["co2_kg"] == pytest.approx(1e-6)
    assert entries["half"]["task_stderr"]["TextQA"] == pytest.approx(0.5, abs=0.2)  # values 1 and 0
    assert entries["good"]["integral_stderr"] == 0.0
    provenance = board["provenance"]
    assert {"created_utc", "evaluator", "python", "packages", "command", "inputs", "teams"} <= set(provenance)
    assert set(provenance["inputs"]) == {"ground_truth", "task_ids", "input"}
    assert all(len(v["sha256"]) == 64 for v in provenance["inputs"].values())


def test_score_html_report(fbc2_set, tmp_path):
    predictions = fbc2_set.perfect_predictions()
    predictions["0"] = text("неверно")
    path = fbc2_set.write_predictions(predictions)
    page = tmp_path / "r.html"
    emissions = write_emissions(tmp_path / "e.csv", [row("r", "TargetValue", "N/A", "3600", "0.2", "0.05")])
    assert main(["score", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
                 "--input", str(fbc2_set.input_path), "--predictions", str(path), "--quiet", "--html", str(page),
                 "--emissions", emissions]) == 0
    text_ = page.read_text(encoding="utf-8")
    parser = Tables()
    parser.feed(text_)
    scores = parser.tables[0]["rows"]
    assert [c[0] for c in scores[0]][:3] == ["task", "kind", "score ± stderr"]
    by_task = {r[0][0]: r for r in scores[1:]}
    assert "Hidden1" not in by_task  # tasks without samples are listed once below, not as empty rows
    assert by_task["TextQA"][2][0].startswith("0.5000 ± 0.")  # one of two samples right
    assert by_task["TextQA"][7][:2] == ("pass", "pass") and by_task["ImageGeneration"][7][:2] == ("n/c", "nc")
    assert "Prize thresholds: <b>4/4 scoreable pass, 2 not computed</b>" in text_
    assert "CO2 (eco2AI, last TargetValue row): 50 g; eco2AI power model: CPU = TDP 200 W x load" in text_
    assert "mean power 200 W" in text_  # 0.2 kWh over 3600 s
    assert "<h2>Provenance</h2>" in text_ and "sha256" in text_
    gallery = next(t for t in parser.tables if t["class"] == "gallery")
    assert [c[0] for c in gallery["rows"][0]] == ["sample", "prompt", "ground truth", "prediction"]


def test_bootstrap_stderr_is_seeded_and_close_to_the_binomial_value():
    values = [1.0] * 20 + [0.0] * 20
    first, second = bootstrap_stderr(values), bootstrap_stderr(values)
    assert first == second  # seeded
    assert first == pytest.approx((0.25 / 40) ** 0.5, rel=0.1)  # sqrt(p(1-p)/n) = 0.0791
    assert bootstrap_stderr([0.3] * 10) == 0.0 and bootstrap_stderr([1.0]) is None
    assert combined_stderr([(1 / 15, 0.15), (1 / 10, 0.2)]) == pytest.approx(((0.01) ** 2 + (0.02) ** 2) ** 0.5)


def sample_values(metric: str, per_sample: dict):
    return TASK_METRICS[metric].sample_values(TaskResult(None, per_sample=per_sample))


def test_sample_values_follow_the_metric():
    assert sample_values("textqa_f1", {"textqa_f1": {"1": 0.5, "2": 1.0}}) == [0.5, 1.0]
    assert sample_values("captioning_meteor_clip", {"meteor": {"1": 0.2}, "clip": {"1": 0.4}}) == [pytest.approx(0.3)]
    assert sample_values("captioning_meteor_clip", {"meteor": {"1": 0.2}}) is None  # CLIP not computed
    assert sample_values("generation_clip_fid", {"clip": {"1": 0.3}}) is None  # FID is a set statistic
    assert TASK_METRICS["generation_clip_fid"].no_stderr_reason == "FID is a statistic of the whole image set"


def test_units_and_summaries():
    assert fmt_grams(0.000001) == "0.001 g" and fmt_grams(0.7) == "700 g" and fmt_grams(1e-9) == "1.0e-06 g"
    assert fmt_grams(0.0) == "0 g" and fmt_grams(None) == "n/a"
    assert fmt_score(0.52, 0.05) == "0.5200 ± 0.0500" and fmt_score(None, None) == "n/c"
    assert thresholds_summary({"A": True, "B": True, "C": None}) == "2/2 scoreable pass, 1 not computed"
    assert thresholds_summary({"A": True, "B": False}) == "1/2 scoreable pass"


def test_plot_ticks_start_at_zero_with_round_steps():
    assert nice_ticks(0.73) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(0.0) == [0.0, 1.0] and nice_ticks(float("nan")) == [0.0, 1.0]


def test_power_model_is_written_and_a_thousandfold_spread_is_flagged(tmp_path, capsys):
    # run a: 0.1 kWh over 3600 s = 100 W; run b: 0.1 kWh over 3.6 s = 100 kW (eco2AI defaults gone wrong)
    emissions = write_emissions(tmp_path / "e.csv", [row("a", "TargetValue", "N/A", "3600", "0.1", "0.03"),
                                                     row("b", "other", "N/A", "3.6", "0.1", "0.03")])
    assert main(["co2", emissions, "--out-dir", str(tmp_path / "p")]) == 0
    captured = capsys.readouterr()
    assert "eco2AI power model: CPU = TDP 200 W x load; GPU = NVML readings; RAM by size; mean power 100-1e+05 W by run" \
        in captured.out
    assert "evaluator: warning: the runs' mean power differs 1000-fold (100 W to 1e+05 W)" in captured.err


def test_provenance_names_the_command_as_typed():
    assert command_line(["/x/evaluator/__main__.py", "score", "--json", "a.json"]) == \
        ["python", "-m", "evaluator", "score", "--json", "a.json"]
    assert command_line(["/usr/bin/fbc2-eval", "leaderboard"]) == ["fbc2-eval", "leaderboard"]
