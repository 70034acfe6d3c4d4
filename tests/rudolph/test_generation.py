import pytest
import torch
from helpers.rudolph_data import random_sequence

from solution.rudolph import (
    GREEDY,
    Sampling,
    build_model,
    generate_image_tokens,
    generate_right_text,
    sample_next,
    score_right_texts,
)


def split(config, ids):
    l, n = config.l_text_seq_length, config.image_seq_length
    return ids[:, :l], ids[:, l:l + n], ids[:, l + n:]


def test_model_uses_all_four_mask_kinds(tiny_model):
    assert set(tiny_model.transformer.layer_mask_kinds) == {"row_mask", "col_mask", "conv_mask", "last_conv_mask"}


def test_cached_greedy_image_tokens_equal_full_recompute(tiny_model, tiny_config):
    left, _, _ = split(tiny_config, random_sequence(tiny_config, batch=3, seed=5))
    cached = generate_image_tokens(tiny_model, left, GREEDY, decoding="cached")
    full = generate_image_tokens(tiny_model, left, GREEDY, decoding="full")
    assert cached.shape == (3, tiny_config.image_seq_length)
    assert torch.equal(cached, full)
    assert int(cached.max()) < tiny_config.image_vocab_size  # image specials never sampled


def test_cached_sampled_image_tokens_equal_full_recompute(tiny_model, tiny_config):
    left, _, _ = split(tiny_config, random_sequence(tiny_config, batch=2, seed=6))
    sampling = Sampling(top_k=20, top_p=0.9, temperature=1.3)
    a = generate_image_tokens(tiny_model, left, sampling, seeds=torch.tensor([7, 70]), decoding="cached")
    b = generate_image_tokens(tiny_model, left, sampling, seeds=torch.tensor([7, 70]), decoding="full")
    c = generate_image_tokens(tiny_model, left, sampling, seeds=torch.tensor([8, 70]), decoding="cached")
    assert torch.equal(a, b)
    assert not torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])  # a row's draws follow its own seed only


def eos_free_model(tiny_params):
    """A tiny model whose text head never prefers eos or pad-position ids, so greedy runs long."""
    torch.manual_seed(3)
    model = build_model(tiny_params).eval()
    c = model.config
    with torch.no_grad():
        model.to_logits[1].bias[3] = -50.0
        model.to_logits[1].bias[c.text_vocab - c.l_text_seq_length:c.text_vocab] = -50.0
    return model


def test_cached_greedy_right_text_equals_full_recompute(tiny_params, tiny_config):
    model = eos_free_model(tiny_params)
    left, image, right = split(tiny_config, random_sequence(tiny_config, batch=3, seed=9))
    prefix = right[:, :2]
    cached = generate_right_text(model, left, image, prefix, GREEDY, decoding="cached")
    full = generate_right_text(model, left, image, prefix, GREEDY, decoding="full")
    assert cached == full
    assert all(len(t) == tiny_config.r_text_seq_length - 2 for t in cached)  # ran to the end


def test_right_text_stops_early_at_eos(tiny_params, tiny_config):
    model = eos_free_model(tiny_params)
    with torch.no_grad():
        model.to_logits[1].bias[3] = 100.0  # eos everywhere
    left, image, right = split(tiny_config, random_sequence(tiny_config, batch=2, seed=10))
    calls = []
    original = model.forward
    model.forward = lambda *a, **k: calls.append(1) or original(*a, **k)
    out = generate_right_text(model, left, image, right[:, :2], GREEDY)
    assert out == [[], []]
    assert len(calls) == 1  # the prefix only: no step after everybody finished


def test_pad_position_ids_count_as_eos(tiny_params, tiny_config):
    model = eos_free_model(tiny_params)
    c = tiny_config
    with torch.no_grad():
        model.to_logits[1].bias[c.text_vocab - 2] = 100.0  # a pad-position id
    left, image, right = split(c, random_sequence(c, batch=1, seed=11))
    assert generate_right_text(model, left, image, right[:, :2], GREEDY) == [[]]


def test_sample_next_filters():
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0]])
    assert sample_next(logits, GREEDY).item() == 4
    seeds = torch.arange(500)

    def draws(sampling):
        return set(sample_next(logits.expand(500, -1), sampling, seeds).tolist())

    assert draws(Sampling(top_k=2)) == {3, 4}
    # softmax([4, 3, 2, ...]) = 0.636, 0.234, ...: top_p 0.5 keeps only the first.
    assert draws(Sampling(top_p=0.5)) == {4}
    assert draws(Sampling(top_p=0.8)) == {3, 4}
    assert draws(Sampling(top_k=3, top_p=0.8)) == {3, 4}
    assert draws(Sampling()) == {0, 1, 2, 3, 4}


def test_score_right_texts_cached_equals_uncached_and_manual(tiny_model, tiny_config):
    c = tiny_config
    ids = random_sequence(c, batch=2, seed=12)
    left, image, right = split(c, ids)
    candidates = torch.stack([right[0], right[1], right[1]])
    candidates[2, 5:] = 0
    candidates[2, 4] = 3
    owner = torch.tensor([0, 0, 1])
    total, count = score_right_texts(tiny_model, left, image, candidates, owner)
    total2, count2 = score_right_texts(tiny_model, left, image, candidates, owner, decoding="full")
    torch.testing.assert_close(total, total2, rtol=1e-5, atol=1e-4)
    assert count.tolist() == count2.tolist() == [c.r_text_seq_length - 5, c.r_text_seq_length - 5, 3]
    # By hand for candidate 2: tokens 2, 3, 4 of the right text given everything before them.
    full = torch.cat([left[1], image[1], candidates[2]])[None]
    with torch.no_grad():
        logp = tiny_model(full)[0, :, :c.text_vocab].log_softmax(-1)
    start = c.l_text_seq_length + c.image_seq_length
    manual = sum(logp[start + j - 1, candidates[2, j]] for j in (2, 3, 4))
    assert total[2].item() == pytest.approx(manual.item(), abs=1e-4)
