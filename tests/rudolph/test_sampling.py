"""Sampling: the Gumbel-max draws follow the filtered distribution, every row has its own stream (the same
tokens alone or in a batch), greedy is the argmax, and nothing waits for the device."""

import pytest
import torch
from helpers.cuda_standin import SYNCING_OPS
from helpers.rudolph_data import random_sequence
from torch.utils._python_dispatch import TorchDispatchMode

from solution.rudolph import (
    GREEDY,
    Sampling,
    build_model,
    generate_image_tokens,
    generate_right_text,
    row_seed,
    sample_next,
)
from solution.rudolph.sampling import uniform_noise


def split(config, ids):
    l, n = config.l_text_seq_length, config.image_seq_length
    return ids[:, :l], ids[:, l:l + n], ids[:, l + n:]

def chi_square(counts: torch.Tensor, probs: torch.Tensor) -> float:
    expected = probs * counts.sum()
    return float(((counts - expected) ** 2 / expected).sum())

@pytest.mark.parametrize(("sampling", "probs"), [
    # softmax([0, 1, 2, 3, 4] / 1): the whole distribution.
    (Sampling(), torch.tensor([0.0, 1, 2, 3, 4]).softmax(0)),
    # top-k 3 renormalises the three largest; temperature 2 flattens them.
    (Sampling(top_k=3, temperature=2.0), torch.tensor([2.0, 3, 4]).div(2).softmax(0)),
    # top-p 0.8: 0.636 + 0.234 reach it, the rest is dropped.
    (Sampling(top_p=0.8), torch.tensor([3.0, 4]).softmax(0)),
])
def test_draws_follow_the_filtered_distribution(sampling, probs):
    """Chi-square over 20,000 draws (rows x steps): below the 0.999 quantile (18.5 for 4 degrees of freedom)."""
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0]]).expand(2000, -1)
    seeds = torch.arange(2000) * 7919 + 11
    draws = torch.cat([sample_next(logits, sampling, seeds, step) for step in range(10)])
    counts = torch.bincount(draws, minlength=5).double()
    kept = counts[-len(probs):]
    assert counts[:-len(probs)].sum() == 0  # filtered tokens are never drawn
    assert chi_square(kept, probs.double()) < {1: 10.8, 2: 13.8, 4: 18.5}[len(probs) - 1]

def test_noise_is_uniform_and_a_function_of_seed_step_and_token_alone():
    seeds = torch.tensor([1, 2, 2**61 + 5])
    index = torch.arange(1000).expand(3, -1)
    u = uniform_noise(seeds, 3, index)
    assert u.dtype == torch.float32 and float(u.min()) > 0 and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) < 0.03 and abs(float(u.var()) - 1 / 12) < 0.01
    # Row 1 alone, token 500 alone: the same numbers.
    assert torch.equal(uniform_noise(seeds[1:2], 3, index[1:2]), u[1:2])
    assert uniform_noise(seeds[2:], 3, torch.tensor([[500]])).item() == u[2, 500].item()
    assert not torch.equal(uniform_noise(seeds, 4, index), u)  # another step, other noise
    assert not torch.equal(u[0], u[1])  # another seed

def test_greedy_is_the_argmax_and_needs_no_seeds():
    logits = torch.randn(6, 50, generator=torch.Generator().manual_seed(1))
    assert torch.equal(sample_next(logits, GREEDY), logits.argmax(-1))
    assert torch.equal(sample_next(logits, Sampling(temperature=0), torch.arange(6)), logits.argmax(-1))

def test_sampled_decoding_without_seeds_is_a_clear_error(tiny_model, tiny_config):
    with pytest.raises(ValueError, match="needs seeds"):
        sample_next(torch.zeros(2, 5), Sampling(top_k=3))
    left, _, _ = split(tiny_config, random_sequence(tiny_config, batch=1, seed=2))
    with pytest.raises(ValueError, match="needs seeds"):
        generate_image_tokens(tiny_model, left, Sampling(top_k=3), steps=2)

def test_row_seed_is_stable_62_bit_and_takes_any_id():
    assert row_seed(0, "image", "abc") == row_seed(0, "image", "abc") == 3831209021933266614
    seeds = {row_seed(s, phase, i) for s in (0, 1) for phase in ("image", "answer") for i in ("a", "b", "\udc80x")}
    assert len(seeds) == 12 and all(0 <= s < 2**62 for s in seeds)

def test_a_rows_sampled_tokens_are_the_same_alone_or_in_a_batch(tiny_params, tiny_config):
    """Image tokens and right texts of a sample depend on its seed, not on its batch-mates, nor on the
    batch shrinking as rows finish (fp32, every decoding mode)."""
    c = tiny_config
    torch.manual_seed(3)
    model = build_model(tiny_params).eval()
    with torch.no_grad():  # no pad-position ids; eos likely enough that rows stop at different steps
        model.to_logits[1].bias[c.text_vocab - c.l_text_seq_length:c.text_vocab] = -50.0
        model.to_logits[1].bias[3] = 2.5
    left, image, right = split(c, random_sequence(c, batch=4, seed=93))
    seeds = torch.tensor([row_seed(0, "x", str(i)) for i in range(4)])
    sampling = Sampling(top_k=20, top_p=0.95)
    for decoding in ("cached", "static"):
        batch = generate_image_tokens(model, left, sampling, seeds=seeds, decoding=decoding, steps=6)
        texts = generate_right_text(model, left, image, right[:, :2], sampling, seeds=seeds, decoding=decoding,
                                    check_every=2)
        for i in range(4):
            alone = generate_image_tokens(model, left[i:i + 1], sampling, seeds=seeds[i:i + 1], decoding=decoding,
                                          steps=6)
            assert torch.equal(alone[0], batch[i]), (decoding, i)
            text = generate_right_text(model, left[i:i + 1], image[i:i + 1], right[i:i + 1, :2], sampling,
                                       seeds=seeds[i:i + 1], decoding=decoding, check_every=2)
            assert text[0] == texts[i], (decoding, i)
    assert len({len(t) for t in texts}) > 1  # rows finished at different steps: the batch shrank

class SyncCounter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.syncs = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in SYNCING_OPS:
            self.syncs.append(str(func))
        return func(*args, **(kwargs or {}))

def test_sampled_image_decoding_never_reads_a_device_value(tiny_model, tiny_config):
    """No op of the image loop (prefill, static steps, sampling) makes the host wait for the device."""
    left, _, _ = split(tiny_config, random_sequence(tiny_config, batch=2, seed=94))
    counter = SyncCounter()
    with counter:
        generate_image_tokens(tiny_model, left, Sampling(top_k=20, top_p=0.9), seeds=torch.tensor([5, 6]),
                              decoding="static")
    assert counter.syncs == []
    with SyncCounter() as again:  # the counter sees a sync when there is one
        torch.tensor([1.0]).item()
    assert again.syncs == ["aten._local_scalar_dense.default"]
