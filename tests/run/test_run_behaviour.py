"""run.py's promises: offline, complete, resumable, inside the time budget, option scoring."""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers.run_entry import ROOT, network_cut_available, read_predictions, write_input

from solution.budget import LEVELS, Budget, Remaining
from solution.fbc2_input import read_input
from solution.pipeline import Pipeline, RunSettings
from solution.predictions import PredictionStore

SAMPLE_INPUT = ROOT / "sample_input" / "input.json"


def sample_subset(tmp_path, n_per_task=3):
    """A small copy of sample_input with n samples of each task."""
    ids = json.loads((ROOT / "sample_input" / "sample_ids.json").read_text())
    data = json.loads(SAMPLE_INPUT.read_text())
    chosen, per_task = {}, {}
    for sample_id, task in ids.items():
        if per_task.get(task, 0) < n_per_task:
            per_task[task] = per_task.get(task, 0) + 1
            chosen[sample_id] = data[sample_id]
    folder = tmp_path / "input"
    shutil.copytree(ROOT / "sample_input" / "images", folder / "images")
    return write_input(folder, chosen)


@pytest.mark.skipif(not network_cut_available(), reason="unshare -n is not available")
def test_sample_input_offline_end_to_end(tmp_path, tiny_weights):
    out = tmp_path / "out"
    result = subprocess.run(["unshare", "-n", sys.executable, str(ROOT / "run.py"), "--input", str(SAMPLE_INPUT),
                             "--output", str(out), "--weights", str(tiny_weights), "--no-progress"],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    predictions = read_predictions(out)
    data = json.loads(SAMPLE_INPUT.read_text())
    assert list(predictions) == list(data)
    for sample_id, items in data.items():
        texts = [it for it in predictions[sample_id] if it["type"] == "text"]
        assert texts and isinstance(texts[0]["content"], str)
        if not any(it["type"] == "image" for it in items):
            image = next(it["content"] for it in predictions[sample_id] if it["type"] == "image")
            assert (out / image).is_file() and image.startswith("images/")
    assert (out / "emission.csv").is_file()
    assert "fbc2-inference" in (out / "emission.csv").read_text()
    assert "samples: 120; answered: 120; placeholders: 0" in result.stderr


def test_resume_after_interruption_loses_and_repeats_nothing(tmp_path, tiny_weights, run_module, monkeypatch):
    path = sample_subset(tmp_path)
    out = tmp_path / "out"
    args = ["--input", str(path), "--output", str(out), "--weights", str(tiny_weights), "--no-progress", "--no-eco2ai",
            "--save-every", "1"]
    calls = {"text": [], "image": []}
    real_text, real_image = PredictionStore.set_text, PredictionStore.set_image

    def interrupting_text(self, sample_id, text):
        if len(calls["text"]) == 7:
            raise run_module.Interrupted("SIGTERM")
        calls["text"].append(sample_id)
        real_text(self, sample_id, text)

    monkeypatch.setattr(PredictionStore, "set_text", interrupting_text)
    assert run_module.main(args) == 0
    first = read_predictions(out)
    assert len(first) == 18 and all(items[0]["type"] == "text" for items in first.values())
    answered_first = list(calls["text"])
    assert len(answered_first) == 7

    def counting_text(self, sample_id, text):
        calls["text"].append(sample_id)
        real_text(self, sample_id, text)

    def counting_image(self, sample_id, path):
        calls["image"].append(sample_id)
        real_image(self, sample_id, path)

    monkeypatch.setattr(PredictionStore, "set_text", counting_text)
    monkeypatch.setattr(PredictionStore, "set_image", counting_image)
    assert run_module.main([*args, "--resume"]) == 0
    second = read_predictions(out)
    resumed = calls["text"][7:]
    assert sorted(answered_first + resumed) == sorted(first)  # every id answered exactly once
    for sample_id in answered_first:
        assert second[sample_id][0] == first[sample_id][0]  # kept, not recomputed
    # A third resume has nothing left to do.
    before = len(calls["text"]) + len(calls["image"])
    assert run_module.main([*args, "--resume"]) == 0
    assert len(calls["text"]) + len(calls["image"]) == before
    assert read_predictions(out) == second


def test_sigterm_writes_what_exists(tmp_path, tiny_weights):
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--input", str(SAMPLE_INPUT), "--output",
                                str(out), "--weights", str(tiny_weights), "--no-progress", "--no-eco2ai",
                                "--save-every", "1"], stderr=subprocess.PIPE, text=True)
    state = out / "run_state.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if state.is_file() and json.loads(state.read_text() or "{}").get("answer"):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    predictions = read_predictions(out)
    assert list(predictions) == list(json.loads(SAMPLE_INPUT.read_text()))
    answered = json.loads(state.read_text())["answer"]
    assert answered  # the work done before the signal is kept
    if "interrupted (SIGTERM)" in err:
        assert len(answered) < len(predictions)


def test_tiny_time_budget_still_writes_a_complete_file(tmp_path, tiny_weights, run_module, capsys):
    path = sample_subset(tmp_path)
    out = tmp_path / "out"
    assert run_module.main(["--input", str(path), "--output", str(out), "--weights", str(tiny_weights),
                            "--no-progress", "--no-eco2ai", "--time-budget", "0.5"]) == 0
    predictions = read_predictions(out)
    assert len(predictions) == 18
    assert all(items[0]["type"] == "text" and isinstance(items[0]["content"], str) for items in predictions.values())
    assert "'stop'" in capsys.readouterr().err


def test_budget_degrades_in_order():
    budget = Budget(seconds=100.0, reserve=10.0, start=0.0, batch_size=2)
    budget.elapsed = lambda: 0.0
    budget.record("generate", 2.0, 2, steps=62, step_seconds=2.0)  # 1 s per sample, all in decode steps
    budget.record("score", 0.5, 1)
    budget.record("image", 10.0, 2)  # 5 s per sample
    work = Remaining(generate=20, score=20, image=10)
    # full: 20 + 10 + 50 = 80 <= 90
    assert budget.update(work) == "full"
    budget.elapsed = lambda: 20.0  # 70 left: without images 30 fits
    assert budget.update(work) == "no-images"
    assert not budget.allows("image") and budget.allows("generate")
    budget.elapsed = lambda: 65.0  # 25 left: short answers 20 * 8/62 + 10 = 12.6
    assert budget.update(work) == "short-answers" and budget.answer_tokens(62) == 8
    budget.elapsed = lambda: 78.0  # 12 left: scoring (10) fits, short answers for what time is left
    assert budget.update(work) == "short-answers"
    budget.elapsed = lambda: 82.0  # 8 left: not even the scoring fits: options only
    assert budget.update(work) == "options-only"
    assert not budget.allows("generate") and budget.allows("score")
    budget.elapsed = lambda: 0.0  # levels never go back down
    assert budget.update(work) == "options-only"
    budget.elapsed = lambda: 95.0
    assert budget.update(work) == "stop" and not budget.allows("score")
    assert LEVELS[-1] == "stop"


def test_option_scoring_picks_the_planted_best_option(tmp_path, tiny_weights):
    from solution.weights import load_weights

    weights = load_weights(tiny_weights)
    tok = weights.tokenizer
    options = ["красный", "синий", "зеленый"]
    planted = set(tok.bpe_encode("синий")) - set(tok.bpe_encode("красный")) - set(tok.bpe_encode("зеленый"))
    assert planted
    with torch.no_grad():
        weights.model.to_logits[1].bias[list(planted)] += 25.0
    text = "Какого цвета фигура? варианты: a) " + "; b) ".join(options[:2]) + "; c) " + options[2]
    path = write_input(tmp_path / "in", {"q": [{"type": "text", "content": text}],
                                         "q2": [{"type": "text", "content": "варианты: a) синий; b) красный"}]})
    samples = read_input(path).samples
    store = PredictionStore(tmp_path / "out", [s.id for s in samples])
    Pipeline(weights, store, Budget(seconds=600), RunSettings(progress=False, generate_images=False)).run(samples)
    assert store.texts == {"q": "b) синий", "q2": "a) синий"}


@pytest.mark.slow
def test_two_ranks_shard_and_merge(tmp_path, tiny_weights):
    path = sample_subset(tmp_path, n_per_task=2)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                             "--master_port", "29533", str(ROOT / "run.py"), "--input", str(path),
                             "--output", str(out), "--weights", str(tiny_weights), "--no-progress", "--no-eco2ai",
                             "--device", "cpu"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    predictions = read_predictions(out)
    data = json.loads(path.read_text())
    assert list(predictions) == list(data)
    rank_files = [json.loads((out / "ranks" / f"rank{r}" / "predictions.json").read_text()) for r in (0, 1)]
    assert rank_files[0] and rank_files[1] and not set(rank_files[0]) & set(rank_files[1])
    for items in predictions.values():
        for item in items:
            if item["type"] == "image":
                assert (out / item["content"]).is_file()
    assert sum(1 for items in predictions.values() for it in items if it["type"] == "image") == 6


def test_generated_mode_resume_recovers_image_codes(tmp_path, tiny_weights):
    from solution.images import load_image, prepare_image
    from solution.weights import load_weights

    weights = load_weights(tiny_weights)
    path = write_input(tmp_path / "in", {"t": [{"type": "text", "content": "Нарисуй красный круг."}]})
    samples = read_input(path).samples
    options = RunSettings(progress=False, text_only_image="generated")
    first = PredictionStore(tmp_path / "out", ["t"])
    interrupted = Pipeline(weights, first, Budget(seconds=600), options)
    interrupted.generate_images(interrupted.prepare(samples))
    first.save()  # the image exists, the answer does not: an interrupted run
    resumed = PredictionStore(tmp_path / "out", ["t"])
    assert resumed.load_previous() == 1 and not resumed.is_done("answer", "t")
    pipeline = Pipeline(weights, resumed, Budget(seconds=600), options)
    pipeline.run(read_input(path).samples)
    saved = load_image(tmp_path / "out" / resumed.images["t"])
    expected = weights.vqgan.encode(prepare_image(saved, weights.image_size)[None])[0]
    assert torch.equal(pipeline.work["t"].generated_codes, expected)
    assert resumed.is_done("answer", "t")
