"""run.py under attack (issue 13): hostile inputs, failing samples, tampered state, planted links, exit codes."""

import json
import os
import random
import shutil

import pytest
import torch
from helpers.run_entry import read_predictions, write_input
from PIL import Image

from solution.answer_options import parse_options
from solution.budget import Budget, Remaining, reserve_for
from solution.fbc2_input import InputFileError, read_input
from solution.pipeline import Pipeline, RunSettings
from solution.predictions import PredictionStore, ResumeMismatch


def run_args(path, out, weights, *extra):
    return ["--input", str(path), "--output", str(out), "--weights", str(weights), "--no-progress", "--no-eco2ai",
            *extra]


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run.py: "), err
    return lines[0]


# -- reading input.json -----------------------------------------------------------------------------
@pytest.mark.parametrize("text,reason", [
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ('{"a": [{"type": "text", "content": ' + "7" * 6000 + "}]}", "not usable JSON"),
    ('{"a": 1', "not valid JSON"),
])
def test_unparsable_input_is_an_input_error(tmp_path, text, reason):
    path = tmp_path / "input.json"
    path.write_text(text)
    with pytest.raises(InputFileError, match=reason) as info:
        read_input(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_fifo_or_folder_as_input_is_an_input_error_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo.json")
    for path in (tmp_path / "fifo.json", tmp_path):
        with pytest.raises(InputFileError, match="not a regular file"):
            read_input(path)


def random_json(rng: random.Random, depth: int = 0):
    """Random JSON shapes, biased to look like FBC2 items."""
    choice = rng.randrange(9 if depth < 4 else 5)
    if choice == 0:
        return rng.choice([None, True, 0, -1.5, 10 ** 30])
    if choice == 1:
        return "".join(rng.choice(["a", "ж", "\ud800", "\0", "/", "..", "a)", "; b)", " "]) for _ in range(rng.randrange(8)))
    if choice == 2:
        return {"type": "text", "content": random_json(rng, depth + 1)}
    if choice == 3:
        return {"type": "image", "content": rng.choice(["x.jpg", "../x.jpg", "/etc/passwd", "a\0b", "\udcff.png",
                                                         "n" * 300, "d/" * 3000, "", " ", "fifo"])}
    if choice == 4:
        return {"type": rng.choice(["audio", 5, None]), "content": "x"}
    if choice in (5, 6):
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {str(rng.randrange(9)): random_json(rng, depth + 1) for _ in range(rng.randrange(3))}


def test_random_json_shapes_parse_with_warnings_only(tmp_path):
    """Property: any JSON object of samples parses (warnings at most), each key one sample, in order."""
    rng = random.Random(5)
    os.mkfifo(tmp_path / "fifo")
    for trial in range(300):
        data = {rng.choice(["", "id", "\ud800", "x" * 300, "a/b", "\0"]) + str(trial * 10 + k): random_json(rng)
                for k in range(rng.randrange(1, 6))}
        path = tmp_path / "input.json"
        path.write_text(json.dumps(data, ensure_ascii=True))
        samples = read_input(path, load_images=False).samples
        assert [s.id for s in samples] == list(data)
        for s in samples:
            assert isinstance(s.text, str) and "\ud800" not in s.text
            assert s.image_path is None or s.image_path.startswith(str(tmp_path.resolve()))


def test_options_past_h_are_no_option_list():
    text = "; ".join(f"{letter}) {letter * 2}" for letter in "abcdefgh") + "; a) again"
    assert parse_options(text) == []


# -- per-sample isolation ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def weights(tiny_weights):
    from solution.weights import load_weights

    return load_weights(tiny_weights)


def make_input(tmp_path, samples, images=()):
    folder = tmp_path / "in"
    for name in images:
        (folder / "images").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (24, 24), (len(name) * 20 % 255, 90, 40)).save(folder / "images" / name)
    return write_input(folder, samples)


def test_a_failing_sample_costs_only_itself_in_every_phase(tmp_path, weights, monkeypatch):
    samples = {f"t{i}": [{"type": "text", "content": f"Вопрос номер {i}?"}] for i in range(6)}
    samples.update({f"o{i}": [{"type": "text", "content": f"выбор {i}: a) да; b) нет"}] for i in range(5)})
    samples.update({f"v{i}": [{"type": "text", "content": "Что это?"}, {"type": "image", "content": f"images/{i}.png"}]
                    for i in range(5)})
    path = make_input(tmp_path, samples, images=[f"{i}.png" for i in range(5)])
    bad = {"prepare": "Вопрос номер 1?", "answer-generate": "Вопрос номер 2?", "answer-score": "выбор 3"}
    tok, vqgan = weights.tokenizer, weights.vqgan
    real_left, real_encode, real_decode = tok.encode_left, vqgan.encode, vqgan.decode

    def left(text, length, *a, **k):
        if bad["prepare"] in text:
            raise UnicodeEncodeError("utf-8", text, 0, 1, "planted")
        return real_left(text, length, *a, **k)

    encoded_alone = []

    def encode(images, *a, **k):
        if len(images) > 1:
            raise RuntimeError("planted batch failure")  # every batch fails: all retried one by one
        encoded_alone.append(1)
        if len(encoded_alone) == 2:
            raise RuntimeError("planted sample failure")
        return real_encode(images, *a, **k)

    def decode(codes):
        decode.calls += 1
        if decode.calls <= 2:  # the first batch, then its first sample alone
            raise RuntimeError("planted image failure")
        return real_decode(codes)

    decode.calls = 0
    monkeypatch.setattr(tok, "encode_left", left)
    monkeypatch.setattr(vqgan, "encode", encode)
    monkeypatch.setattr(vqgan, "decode", decode)
    import solution.pipeline as pipeline_module

    real_generate, real_score = pipeline_module.generate_right_text, pipeline_module.score_right_texts
    lefts = {}

    def generate(model, left_ids, *a, **k):
        if any(torch.equal(left_ids[i], lefts["t2"]) for i in range(len(left_ids))):
            raise RuntimeError("planted answer failure")
        return real_generate(model, left_ids, *a, **k)

    def score(model, left_ids, *a, **k):
        if any(torch.equal(left_ids[i], lefts["o3"]) for i in range(len(left_ids))):
            raise IndexError("planted scoring failure")
        return real_score(model, left_ids, *a, **k)

    monkeypatch.setattr(pipeline_module, "generate_right_text", generate)
    monkeypatch.setattr(pipeline_module, "score_right_texts", score)
    parsed = read_input(path, load_images=False).samples
    store = PredictionStore(tmp_path / "out", [s.id for s in parsed])
    pipeline = Pipeline(weights, store, Budget(seconds=600), RunSettings(progress=False, batch_size=4))
    lefts["t2"] = real_left("Вопрос номер 2?", weights.model.config.l_text_seq_length)
    lefts["o3"] = real_left("выбор 3: a) да; b) нет", weights.model.config.l_text_seq_length)
    stats = pipeline.run(parsed)
    failed = {s.id for s in parsed if any(w.startswith("failed sample") for w in s.warnings)}
    no_image = {s.id for s in parsed if "failed sample: image (RuntimeError)" in s.warnings}
    assert len(no_image) == 1 and failed == {"t1", "t2", "o3", "v1"} | no_image
    assert len(store.done["image"]) == 11 - len(no_image)  # text-only: 5 t (t1 unprepared), 5 o, v1 (not encoded)
    assert store.done["answer"] == set(samples) - {"t1", "t2", "o3"}
    assert len(pipeline.image_ids) == 4  # v1 failed alone and became text-only
    assert stats.warnings["failed sample"] == 5
    store.save()
    assert list(read_predictions(tmp_path / "out")) == list(samples)


def test_hostile_ids_paths_texts_and_options_in_one_run(tmp_path, tiny_weights, run_module, capsys):
    """The nine input kinds that used to end run.py without a predictions.json, plus the two that lost
    every answer: all answered, every id written back exactly."""
    samples = {
        "nul": [{"type": "text", "content": "x"}, {"type": "image", "content": "a\0b.jpg"}],
        "long_name": [{"type": "image", "content": "n" * 300 + ".jpg"}],
        "long_path": [{"type": "image", "content": "d/" * 2100 + "x.jpg"}],
        "surrogate_path": [{"type": "image", "content": "\ud800.jpg"}],
        "id_\ud800": [{"type": "text", "content": "Нарисуй кота"}],
        "\udfff": [{"type": "text", "content": "a) да; b) нет"}],
        "surrogate_text": [{"type": "text", "content": "Вопрос \ud800 про \udc00 кота?"}],
        "nine_options": [{"type": "text", "content": "; ".join(f"{c}) {c}" for c in "abcdefgh") + "; a) x"}],
        "deep": [{"type": "text", "content": [[[["глубоко"]]]]}],
        "big_number": [{"type": "text", "content": 10 ** 300}],
    }
    path = make_input(tmp_path, {})
    path.write_text(json.dumps(samples, ensure_ascii=True))
    out = tmp_path / "out"
    assert run_module.main(run_args(path, out, tiny_weights, "--max-answer-tokens", "4")) == 0
    predictions = json.loads((out / "predictions.json").read_bytes())
    assert list(predictions) == list(samples)
    assert predictions["\udfff"][0]["content"] in ("a) да", "b) нет")
    assert all(isinstance(items[0]["content"], str) for items in predictions.values())
    err = capsys.readouterr().err
    assert "answered: 10; placeholders: 0" in err and "refused image path x4" in err


# -- time budget -----------------------------------------------------------------------------------
def test_budget_counters_are_kept_not_recounted(tmp_path, weights, monkeypatch):
    """Every budget check sees work counts lowered batch by batch; the store is never scanned per batch."""
    samples = {f"s{i}": [{"type": "text", "content": f"Вопрос {i}?" + (" a) да; b) нет" if i % 2 else "")}]
               for i in range(24)}
    samples.update({f"v{i}": [{"type": "image", "content": "images/a.png"}] for i in range(8)})
    path = make_input(tmp_path, samples, images=["a.png"])
    parsed = read_input(path, load_images=False).samples
    store = PredictionStore(tmp_path / "out", [s.id for s in parsed])
    seen = []
    budget = Budget(seconds=600)
    real_update = budget.update
    monkeypatch.setattr(budget, "update", lambda work, tokens: seen.append(Remaining(**vars(work))) or
                        real_update(work, tokens))
    lookups = []
    real_is_done = store.is_done
    monkeypatch.setattr(store, "is_done", lambda phase, i: lookups.append(i) or real_is_done(phase, i))
    Pipeline(weights, store, budget, RunSettings(progress=False, batch_size=4, max_answer_tokens=2)).run(parsed)
    # Every batch is checked; each kind starts with a one-sample probe: encode 1+4+3, score 1+4+4+3,
    # generate 1+4+4+4+4+3, image 1+4+4+4+4+4+3.
    assert len(seen) == 3 + 4 + 6 + 7
    answers = [(w.score, w.generate, w.image) for w in seen[3:13]]
    assert answers == [(12, 20, 24), (11, 20, 24), (7, 20, 24), (3, 20, 24), (0, 20, 24), (0, 19, 24), (0, 15, 24),
                       (0, 11, 24), (0, 7, 24), (0, 3, 24)]
    assert [w.image for w in seen[13:]] == [24, 23, 19, 15, 11, 7, 3]
    assert len(lookups) < 10 * len(parsed)  # linear, not a scan of every sample before every batch


def test_encoding_stops_when_the_budget_runs_out(tmp_path, weights):
    samples = {f"v{i}": [{"type": "image", "content": "images/a.png"}] for i in range(12)}
    path = make_input(tmp_path, samples, images=["a.png"])
    parsed = read_input(path, load_images=False).samples
    store = PredictionStore(tmp_path / "out", [s.id for s in parsed])
    budget = Budget(seconds=100, reserve=1)
    budget.record("encode", 60.0, 1)  # measured: 60 s per image, beyond its share of the budget
    pipeline = Pipeline(weights, store, budget, RunSettings(progress=False, batch_size=4, generate_images=False))
    pipeline.run(parsed)
    assert pipeline.image_ids == {} and budget.name == "full"  # nothing else to degrade: encoding is capped
    assert all("not encoded: no time budget left for it" in s.warnings for s in parsed)
    assert store.done["image"] == set()  # samples with an image never get a generated one


def test_options_only_answers_what_fits_and_stop_waits_for_the_clock():
    budget = Budget(seconds=100.0, reserve=10.0, start=0.0)
    budget.elapsed = lambda: 0.0
    budget.record("score", 1.0, 1)
    budget.record("generate", 1.0, 1)
    assert budget.update(Remaining(score=80, generate=50), 62) == "short-answers"  # scoring fits: answer what fits
    assert budget.allows("generate") and budget.fits("generate", 60) and not budget.fits("generate", 61)  # 1.5 x
    assert budget.affordable("generate") == 60 and budget.affordable("image") is None  # unmeasured
    assert budget.update(Remaining(score=1000, generate=50), 62) == "options-only"  # scoring alone does not fit
    assert budget.allows("score") and not budget.allows("encode") and not budget.allows("generate")
    budget.elapsed = lambda: 90.0
    assert budget.update(Remaining(score=1000), 62) == "stop" and not budget.allows("score")


def test_encoding_may_use_only_its_share_of_the_time_left():
    budget = Budget(seconds=100.0, reserve=10.0, start=0.0)
    budget.elapsed = lambda: 10.0
    budget.cap("encode", 0.5)  # 80 s left: encoding must end by 50 s
    budget.record("encode", 2.0, 3)  # 1.5 x 2/3 s = 1 s per image
    assert budget.fits("encode", 40) and not budget.fits("encode", 41)
    budget.record("score", 2.0, 3)
    assert budget.fits("score", 80) and not budget.fits("score", 81)


def test_reserve_scales_with_the_budget():
    assert reserve_for(30) == 1.5 and reserve_for(10) == 1.0 and reserve_for(16800) == 60.0
    assert Budget(seconds=200).reserve == 10.0


# -- files: links, tampered state, resume and overwrite ---------------------------------------------
def test_planted_symlinks_in_the_output_are_replaced_or_refused(tmp_path, tiny_weights, run_module):
    path = make_input(tmp_path, {"a": [{"type": "text", "content": "Нарисуй кота"}]})
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    from solution.pipeline import image_file_name

    os.symlink(victim, out / "images" / image_file_name("a"))
    os.symlink(victim, out / "predictions.json")
    assert run_module.main(run_args(path, out, tiny_weights, "--max-answer-tokens", "2")) == 0
    assert victim.read_text() == "keep"
    assert read_predictions(out)["a"][1]["content"] == f"images/{image_file_name('a')}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out2 = tmp_path / "out2"
    out2.mkdir()
    os.symlink(elsewhere, out2 / "images")  # a whole planted folder: refused, the sample keeps its text answer
    assert run_module.main(run_args(path, out2, tiny_weights, "--max-answer-tokens", "2")) == 0
    assert list(elsewhere.iterdir()) == [] and [it["type"] for it in read_predictions(out2)["a"]] == ["text"]


def test_resume_ignores_image_paths_of_a_tampered_state(tmp_path):
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    (tmp_path / "secret.jpg").write_bytes(b"s")
    (out / "images" / "ok.jpg").write_bytes(b"i")
    os.symlink(tmp_path / "secret.jpg", out / "images" / "link.jpg")
    ids = ["ok", "dotdot", "abs", "link", "nul", "notstr", "missing"]
    contents = {"ok": "images/ok.jpg", "dotdot": "images/../../secret.jpg", "abs": str(tmp_path / "secret.jpg"),
                "link": "images/link.jpg", "nul": "images/\0", "notstr": 5, "missing": "images/none.jpg"}
    previous = {i: [{"type": "text", "content": "t"}, {"type": "image", "content": contents[i]}] for i in ids}
    (out / "predictions.json").write_text(json.dumps(previous))
    (out / "run_state.json").write_text(json.dumps({"fingerprint": {}, "answer": ids, "image": ids}))
    store = PredictionStore(out, ids)
    assert store.load_previous() == len(ids)
    assert store.images == {"ok": "images/ok.jpg"} and store.done["image"] == {"ok"}


def test_resume_refuses_another_input_or_other_answer_options(tmp_path, tiny_weights, run_module, capsys):
    path = make_input(tmp_path, {"a": [{"type": "text", "content": "a) да; b) нет"}]})
    out = tmp_path / "out"
    args = run_args(path, out, tiny_weights, "--no-images")
    assert run_module.main(args) == 0
    assert run_module.main([*args, "--resume"]) == 0
    capsys.readouterr()
    for changed in ([*args, "--resume", "--seed", "3"], None):
        if changed is None:
            path.write_text(json.dumps({"a": [{"type": "text", "content": "a) нет; b) да"}]}))
            changed = [*args, "--resume"]
        with pytest.raises(SystemExit) as info:
            run_module.main(changed)
        assert info.value.code == 2
        line = one_line(capsys.readouterr().err)
        assert "another" in line and "--overwrite" in line
    with pytest.raises(ResumeMismatch, match="input.json"):
        PredictionStore(out, ["a"], fingerprint={"input.json": "x", "answer options": "y"}).load_previous()


@pytest.mark.parametrize("where", ["input", "weights"])
def test_overwrite_refuses_a_folder_that_holds_the_input_or_the_weights(tmp_path, tiny_weights, run_module, capsys,
                                                                        where):
    path = make_input(tmp_path, {"a": [{"type": "image", "content": "images/x.png"}]}, images=["x.png"])
    output = path.parent if where == "input" else tiny_weights.parent
    before = sorted(p.name for p in output.rglob("*"))
    with pytest.raises(SystemExit) as info:
        run_module.main(run_args(path, output, tiny_weights, "--overwrite"))
    assert info.value.code == 2 and f"the {where} folder" in one_line(capsys.readouterr().err)
    assert sorted(p.name for p in output.rglob("*")) == before


# -- exit codes ------------------------------------------------------------------------------------
def test_failures_after_a_complete_file_exit_0_unless_fail_on_error(tmp_path, tiny_weights, run_module, capsys,
                                                                    monkeypatch):
    import solution.emissions as emissions

    path = make_input(tmp_path, {"a": [{"type": "text", "content": "a) да; b) нет"}]})
    saves = []
    real_save = PredictionStore.save

    def save_then_fail(self):
        saves.append(1)
        if len(saves) > 1:
            raise OSError(28, "No space left on device")
        real_save(self)

    def stop(tracker):
        raise RuntimeError("eco2AI broke")

    monkeypatch.setattr(PredictionStore, "save", save_then_fail)
    monkeypatch.setattr(emissions, "start_tracker", lambda *a, **k: object())
    monkeypatch.setattr(emissions, "stop_tracker", stop)
    args = run_args(path, tmp_path / "out", tiny_weights, "--no-images")
    args.remove("--no-eco2ai")
    assert run_module.main(args) == 0
    err = capsys.readouterr().err
    assert "warning: the final write of predictions.json failed" in err and "warning: stopping eco2AI failed" in err
    assert list(read_predictions(tmp_path / "out")) == ["a"]  # the complete file of the first save
    saves.clear()
    assert run_module.main([*args, "--overwrite", "--fail-on-error"]) == 1


def test_an_unwritable_output_is_one_line(tmp_path, tiny_weights, run_module, capsys):
    path = make_input(tmp_path, {"a": [{"type": "text", "content": "x"}]})
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as info:
        run_module.main(run_args(path, tmp_path / "file", tiny_weights))
    assert info.value.code == 2 and "is a file, not a folder" in one_line(capsys.readouterr().err)


# -- the other scripts that write folders -----------------------------------------------------------
def test_init_weights_refuses_a_folder_that_is_not_empty(tmp_path):
    import subprocess
    import sys

    from helpers.run_entry import ROOT

    out = tmp_path / "demo"
    out.mkdir()
    (out / "config.json").write_text("{}")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "init_weights.py"), "--config", "tiny", "--out",
                             str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "--overwrite" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in out.iterdir()] == ["config.json"] and (out / "config.json").read_text() == "{}"


def test_train_refuses_an_out_that_holds_a_run_without_resume_or_overwrite(tmp_path, capsys):
    from training.cli import RUN_OUTPUTS, build_parser, main, refuse_or_clear_out

    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "loss_log.csv").write_text("epoch,loss\n0,1.0\n")
    (out / "notes.txt").write_text("mine")
    assert main(["--config", "tiny", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run (checkpoints, loss_log.csv)" in err and "--resume" in err
    assert (out / "loss_log.csv").is_file()
    assert refuse_or_clear_out(build_parser().parse_args(["--out", str(out), "--resume"])) is None
    assert (out / "loss_log.csv").is_file()
    assert refuse_or_clear_out(build_parser().parse_args(["--out", str(out), "--overwrite"])) is None
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # only the run's own files went
    assert "loss_log.csv" in RUN_OUTPUTS
    assert refuse_or_clear_out(build_parser().parse_args(["--out", str(tmp_path / "new")])) is None


def test_batches_shrink_to_what_the_budget_affords(weights, tmp_path):
    store = PredictionStore(tmp_path / "out", [])
    budget = Budget(seconds=100.0, reserve=10.0)
    budget.elapsed = lambda: 0.0
    pipeline = Pipeline(weights, store, budget, RunSettings(progress=False, batch_size=8))
    items = list(range(30))
    sizes = pipeline._batches("score", items)
    assert len(next(sizes)) == 1  # a probe while unmeasured
    budget.record("score", 0.5, 1)
    assert [len(b) for b in sizes] == [8, 8, 8, 5]
    budget.record("score", 39.5, 1)  # on average 20 s per sample, 30 with the margin: 3 of 90 s fit
    assert [len(b) for b in pipeline._batches("score", items)] == [3] * 10
    budget.record("score", 400.0, 1)  # none fits any more: the rest is one batch, which the check skips
    assert [len(b) for b in pipeline._batches("score", items)] == [30]


def test_a_truncated_bpe_model_is_one_warning_naming_the_file(tmp_path, tiny_weights, run_module, capsys):
    """A damaged bpe.model: every id keeps its placeholder, exit 0 (--fail-on-error: 1), and the
    warning names the file and line instead of printing a traceback."""
    weights = tmp_path / "weights"
    shutil.copytree(tiny_weights, weights)
    lines = (weights / "bpe.model").read_text(encoding="utf-8").splitlines()
    (weights / "bpe.model").write_text("\n".join(lines[:len(lines) // 2]) + "\n", encoding="utf-8")
    path = make_input(tmp_path, {"a": [{"type": "text", "content": "Нарисуй кота"}]})
    assert run_module.main(run_args(path, tmp_path / "out", weights)) == 0
    err = capsys.readouterr().err
    assert "the weights could not be loaded" in err and "bpe.model" in err and "Traceback" not in err
    assert json.loads((tmp_path / "out" / "predictions.json").read_text()) == {"a": [{"type": "text", "content": ""}]}
    assert run_module.main(run_args(path, tmp_path / "out2", weights, "--fail-on-error")) == 1
