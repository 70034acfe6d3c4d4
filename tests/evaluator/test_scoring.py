"""Scoring whole submissions: the integral, thresholds, partial scores, CLIP/FID wiring, problems."""

import sys
import types

import pytest
from evaluator_fixtures import image, text

from evaluator.io import items as files
from evaluator.options import ScoreOptions
from evaluator.scoring.score import score_files
from evaluator.tasks import load_registry, with_hidden_metrics

TEXT_TASKS = ("TextQA", "MathQA", "VisualQA", "TRitW")


def score(fbc2_set, predictions, **kwargs):
    path = fbc2_set.write_predictions(predictions)
    kwargs.setdefault("options", ScoreOptions(progress=False))
    return score_files(str(fbc2_set.gt_path), str(path), str(fbc2_set.task_ids_path),
                       input_path=str(fbc2_set.input_path), **kwargs).to_json()


@pytest.fixture
def fake_models(monkeypatch):
    """Stand-ins for evaluator.ruclip / evaluator.fid with fixed outputs."""
    calls = {"clip": [], "fid": []}
    ruclip = types.ModuleType("evaluator.metrics.ruclip")

    class Scorer:
        def similarity(self, images, texts):
            calls["clip"].append(list(texts))
            return [0.5] * len(texts)

    ruclip.load_ruclip = lambda weights_dir, device="cpu": Scorer()
    fid = types.ModuleType("evaluator.metrics.fid")
    fid.load_inception = lambda weights_file, device="cpu": "model"
    fid.value = 20.0

    def fid_from_images(a, b, model):
        calls["fid"].append((len(a), len(b)))
        return fid.value

    fid.fid_from_images = fid_from_images
    monkeypatch.setitem(sys.modules, "evaluator.metrics.ruclip", ruclip)
    monkeypatch.setitem(sys.modules, "evaluator.metrics.fid", fid)
    return calls, fid


def test_ground_truth_as_predictions_without_weights(fbc2_set):
    report = score(fbc2_set, fbc2_set.perfect_predictions())
    for name in TEXT_TASKS:
        assert report["tasks"][name]["score"] == 1.0
    for name in ("ImageGeneration", "ImageCaptioning"):
        assert report["tasks"][name]["score"] is None  # never a made-up number
    assert report["tasks"]["ImageCaptioning"]["components"] == {"meteor": 1.0, "clip": None}
    assert report["partial"] is True
    # four open tasks at 1.0, two not computed (count 0), hidden tasks absent: 4/15
    assert report["integral"] == pytest.approx(4 / 15)
    assert report["prize_eligible"] is None
    assert any("ruCLIP weights not given" in r for r in report["not_computed"])
    assert any("FID InceptionV3 weights not given" in r for r in report["not_computed"])
    assert report["synonym_stage"].startswith("skipped")
    assert report["problems"]["missing"] == 0 and report["problems"]["malformed"] == 0
    assert report["warnings"] == []  # the bare item object of sample 5's ground truth is accepted


def test_with_clip_and_fid(fbc2_set, fake_models, tmp_path):
    calls, fid = fake_models
    options = ScoreOptions(clip_weights=str(tmp_path), inception_weights=str(tmp_path / "w.pth"), progress=False)
    report = score(fbc2_set, fbc2_set.perfect_predictions(), options=options)
    generation = report["tasks"]["ImageGeneration"]
    # CLIP 0.5; FID 20 -> (200 - 20)/200 = 0.9; score (0.5 + 0.9)/2 = 0.7
    assert generation["components"]["fid_term"] == pytest.approx(0.9)
    assert generation["score"] == pytest.approx(0.7)
    # captioning: (METEOR 1.0 + CLIP 0.5)/2 = 0.75
    assert report["tasks"]["ImageCaptioning"]["score"] == pytest.approx(0.75)
    # (1 + 1 + 0.7 + 0.75 + 1 + 1)/15 = 5.45/15
    assert report["integral"] == pytest.approx(5.45 / 15)
    assert report["partial"] is False and report["prize_eligible"] is True
    # generation captions: second text item ("красный квадрат") or the text after the first ". "
    assert ["красный квадрат", "синий квадрат"] in calls["clip"]
    assert calls["fid"] == [(2, 2)]


def test_fid_above_200_is_clamped(fbc2_set, fake_models, tmp_path):
    _, fid = fake_models
    fid.value = 250.0
    options = ScoreOptions(clip_weights=str(tmp_path), inception_weights="w", progress=False)
    report = score(fbc2_set, fbc2_set.perfect_predictions(), options=options)
    # (200 - min(200, 250))/200 = 0 -> (0.5 + 0)/2 = 0.25
    assert report["tasks"]["ImageGeneration"]["score"] == pytest.approx(0.25)


def test_missing_generated_image_scores_zero_clip_and_is_left_out_of_fid(fbc2_set, fake_models, tmp_path):
    calls, _ = fake_models
    predictions = fbc2_set.perfect_predictions()
    predictions["5"] = image("images/absent.png")
    options = ScoreOptions(clip_weights=str(tmp_path), inception_weights="w", progress=False)
    report = score(fbc2_set, predictions, options=options)
    generation = report["tasks"]["ImageGeneration"]
    assert generation["components"]["clip"] == pytest.approx(0.25)  # (0.5 + 0)/2
    assert generation["components"]["fid"] is None  # 1 generated image: FID needs 2 per set
    assert generation["score"] is None and report["partial"] is True
    assert generation["malformed"] == 1


def test_mixed_predictions_golden_integral_and_thresholds(fbc2_set):
    predictions = {
        "0": text("a"),  # F1("a", "a") = 1
        # "1" missing -> 0; TextQA = (1 + 0)/2 = 0.5
        "2": text("3"),  # exact -> 1
        "3": text("5"),  # "5" != "-5" -> 0; MathQA = 0.5
        "8": text("на велосипеде"),  # 1
        "9": text("4"),  # numeric rule min(4,2)/max(4,2) = 0.5; VisualQA = 0.75
        "10": text("СТОП"),  # 1
        "11": text("Выходы"),  # 1 - 1/6; TRitW = (1 + 5/6)/2 = 11/12
    }
    report = score(fbc2_set, predictions)
    tasks = report["tasks"]
    assert tasks["TextQA"]["score"] == pytest.approx(0.5)
    assert tasks["MathQA"]["score"] == pytest.approx(0.5)
    assert tasks["VisualQA"]["score"] == pytest.approx(0.75)
    assert tasks["TRitW"]["score"] == pytest.approx(11 / 12)
    # (0.5 + 0.5 + 0.75 + 11/12)/15 = (32/12)/15
    assert report["integral"] == pytest.approx((0.5 + 0.5 + 0.75 + 11 / 12) / 15)
    assert tasks["TextQA"]["missing"] == 1
    # image tasks: everything missing -> counted, and captioning METEOR is 0
    assert tasks["ImageGeneration"]["missing"] == 2 and tasks["ImageCaptioning"]["components"]["meteor"] == 0.0
    assert report["problems"]["missing"] == 1 + 2 + 2
    assert report["thresholds"]["TextQA"] is True and report["thresholds"]["ImageGeneration"] is None


def test_a_failed_threshold_makes_the_submission_ineligible(fbc2_set):
    predictions = fbc2_set.perfect_predictions()
    predictions["0"] = text("Пушкин")  # F1 0 vs every option; no a-e letter
    predictions["1"] = text("нет")  # 0 -> TextQA = 0 < 0.2
    report = score(fbc2_set, predictions)
    assert report["thresholds"]["TextQA"] is False
    assert report["prize_eligible"] is False


def test_first_item_of_the_output_type_is_used(fbc2_set):
    predictions = fbc2_set.perfect_predictions()
    predictions["10"] = image("x.png") + text("СТОЛ") + text("СТОП")  # "СТОЛ": 1 - 1/4
    predictions["11"] = {"type": "text", "content": "Выход"}  # one item object instead of a list
    report = score(fbc2_set, predictions)
    assert report["tasks"]["TRitW"]["score"] == pytest.approx((0.75 + 1.0) / 2)
    assert report["problems"]["malformed"] == 0


MALFORMED = {
    "not_a_list": ("10", "СТОП", files.NOT_A_LIST),
    "bad_item": ("10", ["СТОП"], files.BAD_ITEM),
    "no_matching_item": ("10", image("images/4.png"), files.NO_MATCHING_ITEM),
    "bad_content": ("10", text(["СТОП"]), files.BAD_CONTENT),
    "number_content": ("10", text(7), files.BAD_CONTENT),
    "image_missing": ("4", image("images/nothing.png"), files.IMAGE_MISSING),
    "image_outside": ("4", image("../gt/images/4.png"), files.IMAGE_OUTSIDE),
    "image_absolute": ("4", image("/etc/hostname"), files.IMAGE_OUTSIDE),
    "image_not_a_path": ("4", image(None), files.BAD_CONTENT),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_each_malformed_kind_scores_zero_with_a_problem(fbc2_set, case):
    sample_id, value, kind = MALFORMED[case]
    predictions = fbc2_set.perfect_predictions()
    predictions[sample_id] = value
    report = score(fbc2_set, predictions)
    assert [p["kind"] for p in report["problems"]["samples"]] == [kind]
    assert report["problems"]["by_kind"] == {kind: 1}
    if sample_id == "10":
        assert report["tasks"]["TRitW"]["score"] == pytest.approx(0.5)  # (0 + 1)/2
        assert report["tasks"]["TRitW"]["per_sample"]["tritw_ned"]["10"] == 0.0
        assert report["tasks"]["TRitW"]["malformed"] == 1
    else:
        assert report["tasks"]["ImageGeneration"]["malformed"] == 1


def test_unreadable_generated_image_is_a_problem(fbc2_set):
    predictions = fbc2_set.perfect_predictions()
    (fbc2_set.root / "output" / "images" / "4.png").write_bytes(b"not an image")
    report = score(fbc2_set, predictions)
    assert report["problems"]["by_kind"] == {files.IMAGE_UNREADABLE: 1}


def test_missing_sample_counts_as_missing_not_malformed(fbc2_set):
    predictions = fbc2_set.perfect_predictions()
    del predictions["11"]
    report = score(fbc2_set, predictions)
    assert report["tasks"]["TRitW"]["missing"] == 1 and report["tasks"]["TRitW"]["malformed"] == 0
    assert report["tasks"]["TRitW"]["score"] == pytest.approx(0.5)


def test_hidden_task_with_a_metric_counts_one_tenth(fbc2_set):
    fbc2_set.ground_truth["12"] = text(["Вход"])
    fbc2_set.task_ids["12"] = 6
    from evaluator_fixtures import write_json

    write_json(fbc2_set.gt_path, fbc2_set.ground_truth)
    write_json(fbc2_set.task_ids_path, fbc2_set.task_ids)
    predictions = fbc2_set.perfect_predictions()
    predictions["12"] = text("Выход")  # lev("Выход", "Вход") = 1 -> 1 - 1/5 = 0.8

    unset = score(fbc2_set, predictions)
    assert unset["tasks"]["Hidden1"]["score"] is None and unset["partial"] is True
    assert "metric not set" in unset["tasks"]["Hidden1"]["not_computed"][0]

    registry = with_hidden_metrics(load_registry(), {"Hidden1": "tritw_ned"})
    report = score(fbc2_set, predictions, registry=registry)
    assert report["tasks"]["Hidden1"]["score"] == pytest.approx(0.8)
    # 4 open tasks at 1.0 -> 4/15, plus 0.8/10
    assert report["integral"] == pytest.approx(4 / 15 + 0.08)


def test_unknown_ids_and_unknown_task_ids_are_warned(fbc2_set):
    predictions = fbc2_set.perfect_predictions()
    predictions["999"] = text("x")
    fbc2_set.task_ids["11"] = 42
    from evaluator_fixtures import write_json

    write_json(fbc2_set.task_ids_path, fbc2_set.task_ids)
    report = score(fbc2_set, predictions)
    assert any("not in the ground truth" in w for w in report["warnings"])
    assert any("task id 42" in w for w in report["warnings"])
    assert report["tasks"]["TRitW"]["n"] == 1


def test_extras_are_marked_non_official(fbc2_set):
    report = score(fbc2_set, fbc2_set.perfect_predictions())
    assert report["extras"]["non_official"] is True
    assert set(report["extras"]["tasks"]) == {"ImageCaptioning", "VisualQA"}
    caption = report["extras"]["tasks"]["ImageCaptioning"]
    assert set(caption) == {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr"}
    assert caption["BLEU-1"] == pytest.approx(1.0) and caption["ROUGE-L"] == pytest.approx(1.0)
    assert "not part of the FBC2 score" in report["extras"]["note"]


def test_clip_without_input_file_is_not_computed(fbc2_set, fake_models, tmp_path):
    path = fbc2_set.write_predictions(fbc2_set.perfect_predictions())
    options = ScoreOptions(clip_weights=str(tmp_path), inception_weights="w", progress=False)
    report = score_files(str(fbc2_set.gt_path), str(path), str(fbc2_set.task_ids_path), options=options).to_json()
    assert report["tasks"]["ImageCaptioning"]["score"] is None
    assert "needs the input images" in report["tasks"]["ImageCaptioning"]["not_computed"][0]
    generation = report["tasks"]["ImageGeneration"]
    assert generation["components"]["clip"] is None and generation["components"]["fid"] == 20.0


def test_corrupt_weight_files_are_reported_not_raised(fbc2_set, tmp_path):
    garbage = tmp_path / "inception.pth"
    garbage.write_bytes(b"definitely not a checkpoint")
    options = ScoreOptions(clip_weights=str(tmp_path / "no_clip_dir"), inception_weights=str(garbage), progress=False)
    report = score(fbc2_set, fbc2_set.perfect_predictions(), options=options)
    reasons = report["tasks"]["ImageGeneration"]["not_computed"]
    assert report["tasks"]["ImageGeneration"]["score"] is None
    # the loader's own message or ours ("cannot load ..."): either way it names the file, no traceback
    assert any(r.startswith("FID: ") and "inception.pth" in r for r in reasons), reasons
    assert any(r.startswith("CLIP: ") for r in reasons)


def test_ground_truth_answer_lists_accept_bare_numbers_and_strings(fbc2_set):
    from evaluator_fixtures import write_json

    fbc2_set.ground_truth["2"] = text([3, "c"])  # a number in the answer list
    fbc2_set.ground_truth["3"] = text("-5")  # a bare string instead of a list
    write_json(fbc2_set.gt_path, fbc2_set.ground_truth)
    predictions = fbc2_set.perfect_predictions()
    predictions["2"], predictions["3"] = text("3"), text("-5")
    report = score(fbc2_set, predictions)
    assert report["tasks"]["MathQA"]["score"] == 1.0 and report["warnings"] == []


def test_a_malformed_caption_is_one_problem_though_every_measure_reads_it(fbc2_set, fake_models, tmp_path):
    calls, _ = fake_models
    (tmp_path / "clip").mkdir()
    predictions = fbc2_set.perfect_predictions()
    predictions["6"] = [{"type": "text", "content": 7}]  # METEOR, CLIP and the extras all read sample 6
    report = score(fbc2_set, predictions, options=ScoreOptions(clip_weights=str(tmp_path / "clip"), progress=False))
    assert [(p["id"], p["kind"]) for p in report["problems"]["samples"]] == [("6", files.BAD_CONTENT)]
    assert report["tasks"]["ImageCaptioning"]["malformed"] == 1
    captioning = report["tasks"]["ImageCaptioning"]
    assert captioning["per_sample"]["meteor"]["6"] == 0.0 and captioning["per_sample"]["clip"]["6"] == 0.0
    assert ["собака бежит"] in calls["clip"]  # only the readable caption reaches CLIP
    assert "BLEU-1" in report["extras"]["tasks"]["ImageCaptioning"]
