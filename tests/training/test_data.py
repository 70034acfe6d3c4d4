"""Training sequences: task tokens (seeded 75/25), image blocks, answers, the VQGAN code cache."""

import pytest
import torch

from solution.rudolph.tokenizer import BOS_ID, EOS_ID, Tokenizer
from solution.weights import load_weights
from synthetic_fbc2 import generate_samples
from training.data import (
    ImageCodeCache,
    build_examples,
    choose_special,
    encode_example,
    left_text_of,
    make_batch,
    special_tokens_rng,
)
from training.tasks import TASK_TRAINING


@pytest.fixture(scope="module")
def weights(tiny_weights):
    return load_weights(tiny_weights)


def test_task_token_choice_is_seeded_and_near_75_percent():
    draws = [choose_special("<LT_TQA>", "<LT_UNK>", special_tokens_rng(3, 0, i)) for i in range(4000)]
    again = [choose_special("<LT_TQA>", "<LT_UNK>", special_tokens_rng(3, 0, i)) for i in range(4000)]
    other_epoch = [choose_special("<LT_TQA>", "<LT_UNK>", special_tokens_rng(3, 1, i)) for i in range(4000)]
    assert draws == again
    assert draws != other_epoch
    share = draws.count("<LT_TQA>") / len(draws)
    assert 0.72 < share < 0.78
    assert set(draws) == {"<LT_TQA>", "<LT_UNK>"}


def test_examples_and_sequences(weights, tmp_path):
    tok: Tokenizer = weights.tokenizer
    config = weights.model.config
    samples = [generate_samples(task, 1, seed=5)[0] for task in TASK_TRAINING]
    cache = ImageCodeCache(tmp_path / "codes.pt", weights.vqgan, config.image_tokens_per_dim * weights.vqgan.downsample_factor)
    examples = build_examples(samples, cache)
    by_task = {e.task: e for e in examples}
    n = config.image_seq_length
    assert by_task["TextQA"].image_codes is None and by_task["MathQA"].image_codes is None
    assert by_task["ImageGeneration"].answer is None and by_task["ImageGeneration"].image_codes.shape == (n,)
    for s, e in zip(samples, examples, strict=True):
        assert e.left_text == left_text_of(s) == " ".join(t.strip() for t in s.texts)
        if s.answers:
            assert e.answer == s.answers[0]  # the canonical gold answer is the target

    l, r = config.l_text_seq_length, config.r_text_seq_length
    for e in examples:
        spec = TASK_TRAINING[e.task]
        seen_left, seen_right = set(), set()
        for i in range(40):
            ids = encode_example(e, tok, config, special_tokens_rng(0, 0, i))
            assert ids.shape == (config.seq_length,)
            assert ids[0] == BOS_ID
            seen_left.add(int(ids[1]))
            image, right = ids[l:l + n], ids[l + n:]
            if e.image_codes is None:
                assert not image.any()
            else:
                assert torch.equal(image, e.image_codes)
            if spec.has_right_text:
                assert right[0] == BOS_ID and EOS_ID in right.tolist()
                seen_right.add(int(right[1]))
            else:
                assert not right.any()
        assert seen_left == {tok.special(spec.lt_token), tok.special("<LT_UNK>")}
        if spec.has_right_text:
            assert seen_right == {tok.special(spec.rt_token), tok.special("<RT_UNK>")}
    ids, tasks = make_batch(examples, [0, 2], epoch=0, seed=0, tokenizer=tok, config=config)
    assert ids.shape == (2, l + n + r) and tasks == ["TextQA", "ImageGeneration"]


def test_code_cache_reuses_file_and_rejects_other_weights(weights, tmp_path):
    config = weights.model.config
    size = config.image_tokens_per_dim * weights.vqgan.downsample_factor
    samples = generate_samples("ImageCaptioning", 3, seed=9)
    images = [s.images[-1] for s in samples]
    cache = ImageCodeCache(tmp_path / "codes.pt", weights.vqgan, size)
    codes = cache.encode_all(images)
    cache.save()
    again = ImageCodeCache(tmp_path / "codes.pt", weights.vqgan, size)
    assert again.loaded == 3
    assert all(torch.equal(a, b) for a, b in zip(codes, again.encode_all(images), strict=True))
    with torch.no_grad():
        weights.vqgan.quantize.proj.bias.add_(1.0)  # other weights: the file no longer applies
    try:
        assert ImageCodeCache(tmp_path / "codes.pt", weights.vqgan, size).loaded == 0
    finally:
        with torch.no_grad():
            weights.vqgan.quantize.proj.bias.sub_(1.0)
