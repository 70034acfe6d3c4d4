"""The time budget drops extra candidates first: the real pipeline's image and answer batches with the
model work replaced by stand-ins that advance a fake clock by recorded costs (prefill per row, one
decode step at a time, scoring per row), as tests/run/test_budget_model.py does for the phases."""

import pytest
import torch

import solution.pipeline as pipeline_module
from solution.budget import LEVELS, Budget, Remaining, runs_at
from solution.fbc2_input import Sample
from solution.pipeline import ImageState, Pipeline, RunSettings, SampleWork
from solution.predictions import PredictionStore

PER_ROW, STEP_PER_ROW, SCORE_PER_ROW = 1.0, 0.1, 0.5  # seconds (recorded costs of the stand-ins)
SAMPLES, BATCH, CANDIDATES = 12, 4, 4


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def weights(tiny_weights):
    from solution.weights import load_weights

    return load_weights(tiny_weights)


def stand_ins(monkeypatch, clock: Clock):
    """generate_image_tokens, generate_right_text and both scorers, on the clock."""
    def decode(rows: int, steps: int, progress) -> None:
        clock.now += PER_ROW * rows  # the prefill
        for step in range(steps):
            progress(step)
            if step < steps - 1:
                clock.now += STEP_PER_ROW * rows

    def images(model, left, sampling, *, seeds, decoding, engine, progress):
        n = model.config.image_seq_length
        decode(left.shape[0], n, progress)
        return (seeds[:, None] + torch.arange(n)) % model.config.image_vocab_size

    def answers(model, left, image, prefix, sampling, max_new_tokens, *, seeds, decoding, engine, progress):
        decode(left.shape[0], max_new_tokens, progress)
        return [[5, 6] for _ in range(left.shape[0])]

    def scorer(model, left, *rest, **kwargs):
        clock.now += SCORE_PER_ROW * left.shape[0]
        return torch.zeros(left.shape[0]), torch.full((left.shape[0],), 4)

    monkeypatch.setattr(pipeline_module, "generate_image_tokens", images)
    monkeypatch.setattr(pipeline_module, "generate_right_text", answers)
    monkeypatch.setattr(pipeline_module, "score_right_texts", scorer)
    monkeypatch.setattr(pipeline_module, "score_image_tokens", scorer)


def simulate(weights, tmp_path, monkeypatch, kind: str, seconds: float):
    """SAMPLES text-only samples with CANDIDATES candidates of ``kind`` ("image" or "answer")."""
    clock = Clock()
    stand_ins(monkeypatch, clock)
    l = weights.model.config.l_text_seq_length
    works = [SampleWork(Sample(id=f"s{i}", text="x"), torch.zeros(l, dtype=torch.long), [], ImageState.TEXT_ONLY)
             for i in range(SAMPLES)]
    store = PredictionStore(tmp_path / "out", [w.id for w in works])
    budget = Budget(seconds=seconds, clock=clock)
    settings = RunSettings(progress=False, batch_size=BATCH, decoding="cached",
                           **{f"{kind}_candidates": CANDIDATES})
    pipeline = Pipeline(weights, store, budget, settings)
    pipeline.warmed_up = True  # the warm-up is real model work, off the clock
    if kind == "image":
        for w in works:
            store.set_text(w.id, "answered")
        pipeline._count_todo(works, works)
        pipeline.generate_images(works)
    else:
        pipeline._count_todo(works, [])
        pipeline.answer(works)
    return pipeline, store, clock


@pytest.mark.parametrize("kind", ["image", "answer"])
def test_a_budget_for_the_work_without_candidates_drops_them_first(weights, tmp_path, monkeypatch, kind):
    """80 s: a one-row probe runs its candidates (their cost then known), the next question drops
    them ('one-candidate'), and every image or answer of the batches after is still made."""
    pipeline, store, clock = simulate(weights, tmp_path, monkeypatch, kind, seconds=80)
    budget = pipeline.budget
    ckind = f"{kind}_candidates"
    assert budget.name == "one-candidate" and [level for _, level in pipeline.stats.levels] == ["one-candidate"]
    phase = "image" if kind == "image" else "answer"
    assert len(store.done[phase]) == SAMPLES
    assert pipeline.stats.samples[ckind] == CANDIDATES - 1  # the probe's passes, one row each
    assert clock.now <= 80 - budget.reserve
    # The candidates' passes are a kind of their own and kept out of the batches' rates.
    main = budget.costs["image" if kind == "image" else "generate"]
    assert main.per_row == pytest.approx(PER_ROW)
    assert main.step_time(1) == pytest.approx(STEP_PER_ROW)
    assert budget.costs[ckind].rows == CANDIDATES - 1
    assert pipeline._candidates_line().endswith("; the time budget dropped the rest ('one-candidate')")


@pytest.mark.parametrize("kind", ["image", "answer"])
def test_a_budget_that_fits_the_candidates_keeps_them(weights, tmp_path, monkeypatch, kind):
    pipeline, store, clock = simulate(weights, tmp_path, monkeypatch, kind, seconds=4000)
    assert pipeline.budget.name == "full" and pipeline.stats.levels == []
    assert pipeline.stats.samples[f"{kind}_candidates"] == SAMPLES * (CANDIDATES - 1)


def test_candidates_are_the_first_level_of_the_cut_off_table():
    assert LEVELS[:3] == ("full", "one-candidate", "no-images")
    for kind in ("image_candidates", "answer_candidates"):
        assert runs_at(kind, 0) and not runs_at(kind, 1)
    assert all(runs_at(kind, 1) for kind in ("image", "generate", "score", "encode"))


def test_unmeasured_candidates_are_costed_at_the_work_they_repeat():
    """Before a candidate pass has run, image candidates cost what image batches cost; measured, their own."""
    clock = Clock()
    budget = Budget(seconds=1000, clock=clock, batch_size=4)
    budget.record("image", seconds=4 * 1.0 + 10 * 0.4, rows=4, steps=10, step_seconds=10 * 0.4)
    assert budget.batch_cost("image_candidates", 4) == pytest.approx(8.0)
    assert budget.work_cost("image_candidates", 12) == pytest.approx(24.0)
    budget.record("image_candidates", seconds=4 * 1.0 + 10 * 0.6, rows=4, steps=10, step_seconds=10 * 0.6)
    assert budget.batch_cost("image_candidates", 4) == pytest.approx(10.0)
    # 12 images (24 s) fit in 40 s; with 36 candidate rows (90 s) they do not: candidates go first
    work = Remaining(image=12, image_candidates=36)
    clock.now = 1000 - budget.reserve - 40
    assert budget.update(work) == "one-candidate"
    clock.now = 1000 - budget.reserve - 20  # not even the images: then they go, as before
    assert budget.update(work) == "no-images"
