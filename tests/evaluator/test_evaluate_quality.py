"""scripts/evaluate_quality.py: per-sample scores equal to the official evaluator's, the image
stand-ins, the best constants by hand, the paired verdict, and a run without run.py end to end."""

import json

import pytest
from helpers.scripts import load_script

from evaluator.scoring.score import score_files
from synthetic_fbc2 import generate_split, write_test_set

eq = load_script("evaluate_quality")
TEXT_TASKS = ("TextQA", "MathQA", "VisualQA", "TRitW")


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    write_test_set(generate_split("heldout", 3), folder)
    return folder, eq.TestSet(folder)


def mixed_predictions(data):
    """The canonical gold for every other sample, a constant for the rest; generation: the gold image."""
    predictions = {}
    for task, ids in data.ids.items():
        for k, i in enumerate(ids):
            if task == "ImageGeneration":
                predictions[i] = [{"type": "image", "content": eq.first_content(data.truth[i], "image")}]
            else:
                predictions[i] = [{"type": "text", "content": data.golds(i)[0] if k % 2 == 0 else "a) да 1"}]
    return predictions


def test_mean_and_standard_error_by_hand():
    assert eq.mean_se([0.0, 1.0, 1.0, 1.0]) == pytest.approx((0.75, 0.25))  # sd 0.5, / sqrt(4)
    assert eq.mean_se([0.3]) == (0.3, None)
    assert eq.mean_se([]) == (None, None)
    assert eq.cell([0.0, 1.0, 1.0, 1.0]) == "0.750 ± 0.250"


def test_text_tasks_equal_the_official_evaluator(small_set, tmp_path):
    folder, data = small_set
    predictions = mixed_predictions(data)
    (tmp_path / "predictions.json").write_text(json.dumps(predictions, ensure_ascii=False), encoding="utf-8")
    official = score_files(str(folder / "ground_truth.json"), str(tmp_path / "predictions.json"),
                           str(folder / "sample_ids.json"), input_path=str(folder / "input.json")).tasks
    ours = eq.score_predictions(predictions, folder, data)
    for task in TEXT_TASKS:
        assert sum(ours[task]["values"]) / 3 == pytest.approx(official[task].score), task
    meteor = ours["ImageCaptioning"]["components"]["meteor (official half)"]
    assert sum(meteor) / 3 == pytest.approx(official["ImageCaptioning"].components["meteor"])


def test_image_stand_ins(small_set):
    folder, data = small_set
    ours = eq.score_predictions(mixed_predictions(data), folder, data)
    assert ours["ImageGeneration"]["values"] == [1.0, 1.0, 1.0]  # gold images read as their prompts
    assert ours["ImageGeneration"]["components"]["background"] == [1.0, 1.0, 1.0]
    assert ours["ImageCaptioning"]["values"][0] == 1.0 == ours["ImageCaptioning"]["values"][2]  # the gold caption
    assert ours["ImageCaptioning"]["values"][1] == 0.0  # "a) да 1" states no shape
    nothing = eq.score_predictions({}, folder, data)
    for task in eq.OPEN_TASKS:
        assert nothing[task]["values"] == [0.0, 0.0, 0.0], task
    assert set(nothing["ImageGeneration"]["components"]) == {"colour", "shape", "position", "count", "background"}


def hand_set(folder, samples):
    """A set from (task id, input items, ground-truth items) triples."""
    folder.mkdir()
    files = {"input.json": {}, "ground_truth.json": {}, "sample_ids.json": {}}
    for k, (task_id, items, truth) in enumerate(samples):
        files["input.json"][str(k)] = items
        files["ground_truth.json"][str(k)] = truth
        files["sample_ids.json"][str(k)] = task_id
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return eq.TestSet(folder)


def test_best_text_constant_by_hand(tmp_path):
    golds = [["КАФЕ", "кафе"], ["кафе"], ["стоп"]]  # "стоп" shares no letter with "кафе"
    data = hand_set(tmp_path / "set", [(5, [], [{"type": "text", "content": g}]) for g in golds])
    assert eq.best_text_constant("TRitW", data) == ("кафе", pytest.approx(2 / 3))


def test_best_constant_scene_by_hand(tmp_path):
    def prompt(text):
        return (2, [{"type": "text", "content": "Нарисуй картинку по описанию. " + text}], [])

    one = "Большой красный круг слева на сером фоне."
    two = "Маленький красный круг слева и большой синий квадрат справа на белом фоне."
    data = hand_set(tmp_path / "set", [prompt(one), prompt(one), prompt(two)])
    # {red circle left}: F1 1 + 1 + 2/3; with the blue square too: 2/3 + 2/3 + 1; nothing else is close
    best = eq.best_constant_scene(data)
    assert best.background == "серый"
    assert [(s.colour, s.shape, s.position) for s in best.shapes] == [("красный", "круг", "слева")]


def test_paired_verdicts():
    def report(values):
        return {task: {"values": values} for task in eq.OPEN_TASKS}

    lines = eq.paired_verdicts(("demo", report([1.0, 1.0, 1.0, 0.0])), ("best constant", report([0.0] * 4)))
    assert "TextQA: +0.750 ± 0.250: beats it by >= 2 stderr" in lines
    lines = eq.paired_verdicts(("demo", report([1.0, 0.0, 0.0, 0.0])), ("best constant", report([0.0] * 4)))
    assert "TextQA: +0.250 ± 0.250: does NOT" in lines


def test_two_runs_are_merged(small_set, tmp_path, monkeypatch):
    folder, data = small_set
    calls = []

    def fake_run(weights, input_json, output, extra):
        ids = json.loads(input_json.read_text(encoding="utf-8"))
        calls.append((len(ids), extra))
        return {i: [{"type": "text", "content": "x"}, {"type": "image", "content": f"images/image_{i}.jpg"}]
                for i in ids}

    monkeypatch.setattr(eq, "_run", fake_run)
    predictions = eq.run_pipeline(tmp_path, data, tmp_path / "out", ["--seed", "1"])
    assert calls == [(18, ["--no-images", "--seed", "1"]), (3, ["--seed", "1"])]
    generation = data.ids["ImageGeneration"][0]
    assert predictions[generation] == [{"type": "text", "content": "x"},
                                       {"type": "image", "content": f"images/images/image_{generation}.jpg"}]
    assert predictions[data.ids["TextQA"][0]] == [{"type": "text", "content": "x"}]  # no image kept


def test_candidate_flags_go_to_their_own_run(small_set, tmp_path, monkeypatch):
    """--answer-candidates reaches the answers' run.py only, --image-candidates the images' only; the
    wall time of each call is kept with its sample count."""
    folder, data = small_set
    calls = []
    monkeypatch.setattr(eq, "_run", lambda weights, input_json, output, extra: calls.append(extra) or {})
    timings = {}
    eq.run_pipeline(tmp_path, data, tmp_path / "out", [], ["--answer-candidates", "4"],
                    ["--image-candidates", "3"], timings)
    assert calls == [["--no-images", "--answer-candidates", "4"], ["--image-candidates", "3"]]
    assert set(timings) == {"answers", "images"} and timings["answers"][1] == 18 and timings["images"][1] == 3
    line = eq.wall_times({"demo": {"answers": (36.0, 18), "images": (3.0, 3)}}, ["--image-candidates", "3"])
    assert line.splitlines() == ["Wall time of run.py (--image-candidates 3):",
                                 "  demo: answers 36 s for 18 samples (2.00 s/sample); images 3 s for 3 samples "
                                 "(1.00 s/sample)"]


def test_bad_candidate_counts_are_refused(capsys):
    with pytest.raises(SystemExit):
        eq.main(["--image-candidates", "0"])
    assert "expected a whole number >= 1" in capsys.readouterr().err


def test_constants_end_to_end(tmp_path):
    folder = tmp_path / "set"
    eq.main(["--set", str(folder), "--split", "test", "--per-task", "2", "--best-constant", "--constant", "a",
             "--work", str(tmp_path / "work"), "--out", str(tmp_path / "table.md"), "--json", str(tmp_path / "r.json")])
    assert (folder / "input.json").is_file()  # made on demand
    table = (tmp_path / "table.md").read_text(encoding="utf-8")
    assert "| constant 'a' |" in table and "| best constant |" in table
    assert "NOT the official CLIP/FID" in table
    reports = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert reports["rows"]["constant 'a'"]["TRitW"]["values"] == [0.0, 0.0]  # one letter is no sign word
    assert reports["rows"]["constant 'a'"]["ImageGeneration"]["values"] == [0.0, 0.0]  # no image
    assert set(reports["constants"]) == set(eq.OPEN_TASKS)


def test_repeated_random_seed_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        eq.main(["--set", str(tmp_path / "h"), "--random-like", str(tmp_path), "--random-seeds", "1", "1"])
    assert "each seed once" in capsys.readouterr().err
    assert not (tmp_path / "h").exists()  # refused before anything was made
