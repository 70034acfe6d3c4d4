"""Every sample draws from its own seeded stream: predictions.json and every image are byte-identical
whatever the batch size, and after an interruption and --resume (run.py in process, tiny weights,
image tokens with the baseline sampling, answers with the baseline's top-k/top-p sampling)."""

import json

import pytest
from helpers.run_entry import write_input

from solution.predictions import PredictionStore

SAMPLES = {
    **{f"draw{i}": [{"type": "text", "content": f"Нарисуй {w}"}] for i, w in enumerate(["кота", "дом", "море"])},
    "free0": [{"type": "text", "content": "Что такое снег?"}],
    "opt0": [{"type": "text", "content": "Какого цвета небо? a) синий; b) красный; c) зелёный"}],
    "opt1": [{"type": "text", "content": "Сколько лап у кошки? a) две; b) четыре"}],
}


def run(run_module, path, out, weights, *extra):
    args = ["--input", str(path), "--output", str(out), "--weights", str(weights), "--no-progress", "--no-eco2ai",
            "--answer-sampling", "baseline", "--max-answer-tokens", "6", "--save-every", "1", *extra]
    assert run_module.main(args) == 0


def outputs(out) -> dict[str, bytes]:
    files = {"predictions.json": (out / "predictions.json").read_bytes()}
    files.update({f"images/{p.name}": p.read_bytes() for p in sorted((out / "images").iterdir())})
    return files


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_weights, run_module):
    """The outputs of an uninterrupted run at batch size 4 (several samples share every batch)."""
    folder = tmp_path_factory.mktemp("seeded")
    path = write_input(folder / "in", SAMPLES)
    run(run_module, path, folder / "out4", tiny_weights, "--batch-size", "4")
    return path, outputs(folder / "out4")


def test_batch_size_does_not_change_a_byte(tmp_path, tiny_weights, run_module, reference):
    path, expected = reference
    assert len([name for name in expected if name.startswith("images/")]) == len(SAMPLES)  # all text-only
    run(run_module, path, tmp_path / "out1", tiny_weights, "--batch-size", "1")
    assert outputs(tmp_path / "out1") == expected


@pytest.mark.parametrize(("method", "after"), [("set_text", 4), ("set_image", 2)], ids=["in-answers", "in-images"])
def test_an_interrupted_and_resumed_run_does_not_change_a_byte(tmp_path, tiny_weights, run_module, reference,
                                                               monkeypatch, method, after):
    path, expected = reference
    out = tmp_path / "out"
    real = getattr(PredictionStore, method)
    calls = []

    def interrupting(self, sample_id, value):
        if len(calls) == after:
            raise run_module.Interrupted("SIGTERM")
        calls.append(sample_id)
        real(self, sample_id, value)

    monkeypatch.setattr(PredictionStore, method, interrupting)
    run(run_module, path, out, tiny_weights, "--batch-size", "4")
    assert len(calls) == after
    state = json.loads((out / "run_state.json").read_text())
    assert len(state["answer"]) + len(state["image"]) < 2 * len(SAMPLES)  # the run was really cut short
    monkeypatch.setattr(PredictionStore, method, real)
    run(run_module, path, out, tiny_weights, "--batch-size", "4", "--resume")
    assert outputs(out) == expected
