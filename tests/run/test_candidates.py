"""Self-reranking (--image-candidates N, --answer-candidates N) through the real pipeline on the tiny
random model: N = 1 is today's run byte for byte, N > 1 keeps the candidate that scores best when
every candidate is made and scored again independently (full recomputation), and the CPU decoding
modes agree."""

import re

import pytest
import torch

from solution.budget import Budget
from solution.fbc2_input import Sample
from solution.pipeline import Pipeline, RunSettings
from solution.predictions import PredictionStore
from solution.rudolph import (
    BASELINE_IMAGE_SAMPLING,
    BASELINE_TEXT_SAMPLING,
    GREEDY,
    generate_image_tokens,
    generate_right_text,
    row_seed,
    score_right_texts,
)
from solution.rudolph.tokenizer import EOS_ID

TEXTS = ["красный круг слева", "синий квадрат справа на белом фоне", "что на картинке", "нарисуй кота",
         "большой зелёный треугольник", "2 + 2 = ?"]


@pytest.fixture(scope="module")
def weights(tiny_weights):
    from solution.weights import load_weights

    return load_weights(tiny_weights)


def run_pipeline(weights, folder, **settings):
    samples = [Sample(id=f"s{i}", text=text) for i, text in enumerate(TEXTS)]
    store = PredictionStore(folder, [s.id for s in samples])
    pipeline = Pipeline(weights, store, Budget(seconds=3600), RunSettings(progress=False, batch_size=4, **settings))
    pipeline.run(samples)
    images = {i: (folder / path).read_bytes() for i, path in store.images.items()}
    codes = {i: w.generated_codes for i, w in pipeline.work.items()}
    return store.as_dict(), images, codes, pipeline


def ppl(total, count):
    return torch.exp(-total / count)


def hand_normalised(values: list[float]) -> list[float]:
    """(x - min) / (median - min) over an odd number of values (the median is the middle one)."""
    low, median = min(values), sorted(values)[len(values) // 2]
    return [(v - low) / (median - low) if median > low else v - low for v in values]


def independent_images(weights, n: int) -> dict[str, tuple[list[torch.Tensor], int]]:
    """Each sample's n image candidates made with full recomputation, and the index ru-dolph's
    self-reranking keeps: 0.95 x normalised caption perplexity (its text as right text after an empty
    left text and the image) + 0.05 x normalised image perplexity (after its left text), lowest wins."""
    model, tok = weights.model, weights.tokenizer
    c = model.config
    lo, hi = c.text_vocab, c.text_vocab + c.image_vocab_size
    out = {}
    for i, text in enumerate(TEXTS):
        sample_id = f"s{i}"
        left = tok.encode_left(text, c.l_text_seq_length)[None]
        phases = ["image"] + [f"image candidate {k}" for k in range(1, n)]
        candidates = [generate_image_tokens(model, left, BASELINE_IMAGE_SAMPLING, decoding="full",
                                            seeds=torch.tensor([row_seed(0, phase, sample_id)]))
                      for phase in phases]
        caption = tok.encode_right(text, c.r_text_seq_length)[None]
        empty = tok.encode_left("", c.l_text_seq_length)[None]
        text_ppl, image_ppl = [], []
        for codes in candidates:
            total, count = score_right_texts(model, empty, codes, caption, torch.tensor([0]), decoding="full")
            text_ppl.append(float(ppl(total, count)))
            with torch.no_grad():  # every image token after [left | the tokens before it], one forward pass
                logits = model(torch.cat([left, codes], dim=1))[:, c.l_text_seq_length - 1:-1, lo:hi]
            logp = logits.float().log_softmax(-1).gather(-1, codes[..., None]).squeeze(-1)
            image_ppl.append(float(torch.exp(-logp.mean())))
        scores = [0.95 * t + 0.05 * m for t, m in zip(hand_normalised(text_ppl), hand_normalised(image_ppl), strict=True)]
        out[sample_id] = (candidates, min(range(n), key=lambda k: (scores[k], k)))
    return out


def right_ids(tok, ids: list[int], r: int) -> torch.Tensor:
    row = ([*tok.right_prefix().tolist(), *ids, EOS_ID])[:r]
    return torch.tensor([row + [0] * (r - len(row))])


def independent_answers(weights, n: int) -> dict[str, tuple[list[str], int]]:
    """Each sample's answers: greedy, then n - 1 sampled (baseline text sampling, their own seeds),
    with full recomputation, and the index of the highest mean log-likelihood (the earliest on ties)."""
    model, tok = weights.model, weights.tokenizer
    c = model.config
    out = {}
    for i, text in enumerate(TEXTS):
        sample_id = f"s{i}"
        left = tok.encode_left(text, c.l_text_seq_length)[None]
        image = torch.zeros(1, c.image_seq_length, dtype=torch.long)  # text-only samples answer with zeros
        prefix = tok.right_prefix()[None]
        runs = [(GREEDY, "answer")] + [(BASELINE_TEXT_SAMPLING, f"answer candidate {k}") for k in range(1, n)]
        answers, means = [], []
        for sampling, phase in runs:
            ids = generate_right_text(model, left, image, prefix, sampling, max_new_tokens=c.r_text_seq_length - 2,
                                      seeds=torch.tensor([row_seed(0, phase, sample_id)]), decoding="full")[0]
            total, count = score_right_texts(model, left, image, right_ids(tok, ids, c.r_text_seq_length),
                                             torch.tensor([0]), decoding="full")
            answers.append(tok.decode(ids))
            means.append(float(total / count))
        out[sample_id] = (answers, max(range(n), key=lambda k: (means[k], -k)))
    return out


def test_one_candidate_is_todays_run_byte_for_byte(weights, tmp_path):
    today = run_pipeline(weights, tmp_path / "today")
    ones = run_pipeline(weights, tmp_path / "ones", image_candidates=1, answer_candidates=1)
    assert today[0] == ones[0] and today[1] == ones[1] and len(today[1]) == len(TEXTS)
    assert not any(kind in today[3].stats.seconds for kind in ("image_candidates", "answer_candidates"))
    assert today[3].stats.candidates == ""
    # candidate 0 is the image of one candidate: same seeds, same tokens
    reference = independent_images(weights, 1)
    for sample_id, codes in today[2].items():
        assert torch.equal(codes, reference[sample_id][0][0][0])


@pytest.mark.slow
def test_more_candidates_keep_the_best_scored_one(weights, tmp_path):
    predictions, _, codes, pipeline = run_pipeline(weights, tmp_path / "three", image_candidates=3,
                                                   answer_candidates=3)
    images = independent_images(weights, 3)
    for sample_id, (candidates, best) in images.items():
        assert torch.equal(codes[sample_id], candidates[best][0]), sample_id
    assert any(best for _, best in images.values())  # the choice is not always candidate 0
    answers = independent_answers(weights, 3)
    for sample_id, (texts, best) in answers.items():
        assert predictions[sample_id][0]["content"] == texts[best], sample_id
    assert pipeline.stats.samples["image_candidates"] == 2 * len(TEXTS)
    assert pipeline.stats.samples["answer_candidates"] == 2 * len(TEXTS)
    assert pipeline.stats.candidates.startswith("self-reranking: images best of 3: 12 extra candidates")


@pytest.mark.slow
def test_the_cpu_decoding_modes_agree(weights, tmp_path):
    runs = {mode: run_pipeline(weights, tmp_path / mode, decoding=mode, image_candidates=3, answer_candidates=3)
            for mode in ("full", "cached", "static")}
    full = runs["full"]
    for mode, run in runs.items():
        assert run[0] == full[0], mode
        assert run[1] == full[1], mode


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True, None])
def test_bad_candidate_counts_are_one_line_errors(value):
    for name in ("image_candidates", "answer_candidates"):
        message = f"{name} must be a whole number >= 1 (1: no self-reranking); got {value!r}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            RunSettings(**{name: value})


@pytest.mark.parametrize("flag", ["--image-candidates", "--answer-candidates"])
@pytest.mark.parametrize("value", ["0", "-2", "1.5", "x"])
def test_run_py_refuses_a_bad_count_in_one_line(run_module, capsys, flag, value):
    with pytest.raises(SystemExit) as exit_info:
        run_module.parse_args(["--input", "x.json", flag, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("run.py: ") and flag in err


def test_run_py_passes_the_counts_to_the_settings(run_module):
    _, settings = run_module.parse_args(["--input", "x.json", "--image-candidates", "3", "--answer-candidates", "2"])
    assert (settings.image_candidates, settings.answer_candidates) == (3, 2)
    _, defaults = run_module.parse_args(["--input", "x.json"])
    assert (defaults.image_candidates, defaults.answer_candidates) == (1, 1)


def test_the_run_summary_names_the_candidates(run_module, tiny_weights, tmp_path, capsys):
    from helpers.run_entry import write_input

    path = write_input(tmp_path / "in", {"a": [{"type": "text", "content": "нарисуй кота"}]})
    code = run_module.main(["--input", str(path), "--output", str(tmp_path / "out"), "--weights", str(tiny_weights),
                            "--no-eco2ai", "--no-progress", "--image-candidates", "2", "--answer-candidates", "3"])
    err = capsys.readouterr().err
    assert code == 0
    assert "self-reranking: images best of 2: 1 extra candidates made in " in err
    assert ", answers best of 3: 2 extra candidates made in " in err
    assert "image_candidates " in err and "answer_candidates " in err  # the by-phase line: seconds/rows
