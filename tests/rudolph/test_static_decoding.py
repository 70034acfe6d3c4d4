"""The static-shape decode step, its key buckets, its CUDA graphs (through the CPU stand-in of
helpers/cuda_standin.py), batched option scoring and the automatic batch size."""

import pytest
import torch
from helpers.rudolph_data import random_sequence

from solution.rudolph import GREEDY, DecodeEngine, Sampling, build_model, generation, get_config
from solution.rudolph.batching import MAX_AUTO_BATCH, auto_batch_size, bytes_per_sample
from solution.rudolph.generation import generate_image_tokens, generate_right_text, key_end, score_right_texts


def split(config, ids):
    l, n = config.l_text_seq_length, config.image_seq_length
    return ids[:, :l], ids[:, l:l + n], ids[:, l + n:]


def part_of(config, position):
    return next(name for name, (lo, hi) in config.parts.items() if lo <= position < hi)


# Positions on both sides of each part border, and the very last one.
def border_positions(c):
    l, i = c.l_text_seq_length, c.l_text_seq_length + c.image_seq_length
    return [1, l - 1, l, l + 1, l + c.image_tokens_per_dim, i - 1, i, i + 1, c.seq_length - 1]


@pytest.mark.parametrize("batch", [1, 2, 3, 4, 5])
def test_static_step_logits_equal_full_forward(tiny_model, tiny_config, batch):
    c = tiny_config
    ids = random_sequence(c, batch=batch, seed=20 + batch)
    with torch.no_grad():
        full = tiny_model(ids)
        for p in border_positions(c):
            cache = tiny_model.new_cache(batch)
            tiny_model(ids[:, :p], cache)
            pos = torch.full((batch,), p)
            step = tiny_model.step(ids[:, p], pos, cache, part_of(c, p))
            torch.testing.assert_close(step, full[:, p], rtol=1e-5, atol=1e-5)


def test_static_step_with_rows_at_different_positions(tiny_model, tiny_config):
    """Each row may stand at its own position: one step, three positions, three parts."""
    c = tiny_config
    ids = random_sequence(c, batch=3, seed=30)
    positions = [c.l_text_seq_length + 3, c.l_text_seq_length + 7, c.l_text_seq_length + 10]
    with torch.no_grad():
        full = tiny_model(ids)
        cache = tiny_model.new_cache(3)
        tiny_model(ids, cache)  # every position written; the step rewrites its own
        pos = torch.tensor(positions)
        step = tiny_model.step(ids[torch.arange(3), pos], pos, cache, "image")
    torch.testing.assert_close(step, full[torch.arange(3), pos], rtol=1e-5, atol=1e-5)


def test_static_step_ignores_what_the_future_slots_hold(tiny_model, tiny_config):
    """The step attends over the whole cache: whatever finite values lie beyond the position are masked."""
    c = tiny_config
    ids = random_sequence(c, batch=2, seed=31)
    p = c.l_text_seq_length + 5
    with torch.no_grad():
        cache = tiny_model.new_cache(2)
        assert not cache.keys.any() and not cache.values.any()  # zero-initialised
        cache.keys[:, :, :, p + 1:] = 1e4
        cache.values[:, :, :, p + 1:] = -1e4
        tiny_model(ids[:, :p], cache)
        step = tiny_model.step(ids[:, p], torch.full((2,), p), cache, "image")
        full = tiny_model(ids[:, :p + 1])[:, p]
    torch.testing.assert_close(step, full, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bucket", [1, 5, 8, 128])
def test_bucketed_step_logits_equal_full_forward_at_every_position(tiny_model, tiny_config, bucket):
    """A step over the keys of its bucket only gives the logits of the whole forward, at every position:
    every bucket edge and every part border of the tiny sequence."""
    c = tiny_config
    ids = random_sequence(c, batch=2, seed=25)
    with torch.no_grad():
        full = tiny_model(ids)
        cache = tiny_model.new_cache(2)
        tiny_model(ids[:, :1], cache)
        for p in range(1, c.seq_length):
            keys = key_end(p, bucket, c.seq_length)
            assert p < keys <= c.seq_length and (keys == c.seq_length or keys % bucket == 0)
            step = tiny_model.step(ids[:, p], torch.full((2,), p), cache, part_of(c, p), keys)
            torch.testing.assert_close(step, full[:, p], rtol=1e-5, atol=1e-5)


def graph_engine(model, rows, standin, monkeypatch, bucket=8):
    """An engine on the CUDA stand-in, every step captured (a short kernel warm-up keeps the tests fast)."""
    monkeypatch.setattr(generation, "WARMUP_MS", 2.0)
    monkeypatch.setattr(generation, "TIMING_ROUNDS", 2)
    engine = DecodeEngine(model, max_batch=rows, use_graphs=True, key_bucket=bucket)
    assert standin is not None and engine.use_graphs
    return engine


def assert_graphs_ran(engine, standin, replays_before=0):
    """Every step the engine made replayed a captured graph: no shape fell back to eager."""
    status = engine.status()
    assert status["fell_back"] == {}, status["fell_back"]
    assert status["captured"] == len(engine.steps) > 0
    assert all(step.graph is not None for step in engine.steps.values())
    assert standin.replays > replays_before


@pytest.mark.parametrize("decoding", ["static", "graph"])
@pytest.mark.parametrize("batch", range(1, 9))
def test_static_image_tokens_equal_cached_and_full(tiny_model, tiny_config, decoding, batch, cuda_standin,
                                                    monkeypatch):
    left, _, _ = split(tiny_config, random_sequence(tiny_config, batch=batch, seed=40 + batch))
    engine = graph_engine(tiny_model, batch, cuda_standin, monkeypatch) if decoding == "graph" else None
    static = generate_image_tokens(tiny_model, left, GREEDY, decoding=decoding, engine=engine)
    assert torch.equal(static, generate_image_tokens(tiny_model, left, GREEDY, decoding="cached"))
    assert torch.equal(static, generate_image_tokens(tiny_model, left, GREEDY, decoding="full"))
    if engine is not None:
        assert_graphs_ran(engine, cuda_standin)
        # The image part spans two buckets of 8 keys beyond the left text: a graph for each.
        assert {s.keys for s in engine.steps} == {key_end(p, 8, tiny_config.seq_length)
                                                  for p in range(*tiny_config.parts["image"])}


@pytest.mark.parametrize("decoding", ["static", "graph"])
def test_static_sampled_image_tokens_equal_cached(tiny_model, tiny_config, decoding, cuda_standin, monkeypatch):
    left, _, _ = split(tiny_config, random_sequence(tiny_config, batch=3, seed=45))
    sampling = Sampling(top_k=20, top_p=0.9, temperature=1.3)
    seeds = torch.tensor([7, 8, 9])
    engine = graph_engine(tiny_model, 3, cuda_standin, monkeypatch) if decoding == "graph" else None
    a = generate_image_tokens(tiny_model, left, sampling, seeds=seeds, decoding=decoding, engine=engine)
    b = generate_image_tokens(tiny_model, left, sampling, seeds=seeds, decoding="cached")
    assert torch.equal(a, b)
    if engine is not None:
        assert_graphs_ran(engine, cuda_standin)


def model_with_eos_bias(tiny_params, bias):
    """A tiny model whose eos logit is shifted, so rows finish after different numbers of tokens."""
    torch.manual_seed(3)
    model = build_model(tiny_params).eval()
    c = model.config
    with torch.no_grad():
        model.to_logits[1].bias[c.text_vocab - c.l_text_seq_length:c.text_vocab] = -50.0
        model.to_logits[1].bias[3] = bias
    return model


def test_right_text_rows_finish_at_different_steps_and_match_one_by_one(tiny_params, tiny_config, cuda_standin,
                                                                       monkeypatch):
    """Shrinking the batch as rows finish changes no row's text: each equals the row decoded alone."""
    c = tiny_config
    left, image, right = split(c, random_sequence(c, batch=5, seed=50))
    prefix = right[:, :2]
    lengths_seen = set()
    for bias in (-50.0, 0.42, 0.45, 0.5):
        model = model_with_eos_bias(tiny_params, bias)
        alone = [generate_right_text(model, left[i:i + 1], image[i:i + 1], prefix[i:i + 1], GREEDY,
                                     decoding="full")[0] for i in range(5)]
        lengths_seen.update(len(t) for t in alone)
        for decoding in ("full", "cached", "static", "graph"):
            for check_every in (1, 3):
                engine = graph_engine(model, 5, cuda_standin, monkeypatch, bucket=5) if decoding == "graph" else None
                out = generate_right_text(model, left, image, prefix, GREEDY, decoding=decoding,
                                          check_every=check_every, engine=engine)
                assert out == alone, (bias, decoding, check_every)
                if engine is not None:
                    assert_graphs_ran(engine, cuda_standin)
    assert len(lengths_seen) >= 3  # the biases really made rows stop at different steps
    assert c.r_text_seq_length - 2 in lengths_seen  # and some ran to the end


@pytest.mark.parametrize("batch", range(1, 9))
def test_graph_right_texts_equal_cached_at_every_batch_size(tiny_params, tiny_config, batch, cuda_standin, monkeypatch):
    """Graph decoding of right texts, shrinking included, gives each row what the cached path gives."""
    model = model_with_eos_bias(tiny_params, 0.45)  # rows stop at different steps: the batch shrinks
    left, image, right = split(tiny_config, random_sequence(tiny_config, batch=batch, seed=60 + batch))
    prefix = right[:, :2]
    engine = graph_engine(model, batch, cuda_standin, monkeypatch, bucket=5)
    out = generate_right_text(model, left, image, prefix, GREEDY, decoding="graph", check_every=1, engine=engine)
    assert out == generate_right_text(model, left, image, prefix, GREEDY, decoding="cached")
    assert_graphs_ran(engine, cuda_standin)


def test_engine_is_reused_across_batches_of_different_sizes(tiny_params, tiny_config):
    c = tiny_config
    model = model_with_eos_bias(tiny_params, 0.42)
    engine = DecodeEngine(model, max_batch=5)
    assert not engine.use_graphs  # CPU: eager static steps
    for batch, seed in ((5, 60), (3, 61), (5, 62)):
        left, image, right = split(c, random_sequence(c, batch=batch, seed=seed))
        ours = generate_right_text(model, left, image, right[:, :2], GREEDY, decoding="static", engine=engine)
        assert ours == generate_right_text(model, left, image, right[:, :2], GREEDY, decoding="cached")
        pictures = generate_image_tokens(model, left, GREEDY, decoding="static", engine=engine)
        assert torch.equal(pictures, generate_image_tokens(model, left, GREEDY, decoding="cached"))
    # Batches of 5 and 3 rows, shrunk to powers of two as rows finished.
    assert {s.rows for s in engine.steps if s.part == "image"} == {3, 5}
    assert {s.rows for s in engine.steps if s.part == "right"} >= {1, 3, 5}


@pytest.mark.parametrize("max_tokens", [4096, 1])  # all samples in one pass, or one sample per pass
def test_packed_option_scoring_equals_full_recompute(tiny_model, tiny_config, max_tokens):
    c = tiny_config
    ids = random_sequence(c, batch=4, seed=70)
    left, image, right = split(c, ids)
    # Uneven numbers of candidates per sample (3, 1, 0, 2), given out of order.
    owner = torch.tensor([1, 0, 3, 0, 0, 3])
    candidates = right[[0, 1, 2, 3, 1, 0]].clone()
    candidates[1, 6:] = 0
    candidates[1, 5] = 3
    total, count = score_right_texts(tiny_model, left, image, candidates, owner, max_tokens=max_tokens)
    total_ref, count_ref = score_right_texts(tiny_model, left, image, candidates, owner, decoding="full")
    torch.testing.assert_close(total, total_ref, rtol=1e-5, atol=1e-4)
    assert count.tolist() == count_ref.tolist()


def test_packed_option_scoring_uses_a_given_cache_in_place(tiny_model, tiny_config):
    c = tiny_config
    left, image, right = split(c, random_sequence(c, batch=2, seed=71))
    engine = DecodeEngine(tiny_model, max_batch=4)
    owner = torch.tensor([0, 0, 1])
    candidates = right[[0, 1, 1]]
    total, _ = score_right_texts(tiny_model, left, image, candidates, owner, cache=engine.cache)
    total_ref, _ = score_right_texts(tiny_model, left, image, candidates, owner, decoding="full")
    torch.testing.assert_close(total, total_ref, rtol=1e-5, atol=1e-4)
    assert engine.cache.keys[:, :2, :, :c.l_text_seq_length].abs().sum() > 0  # the prefix went there


def test_auto_batch_size_from_free_memory():
    c = get_config("2.7B-FBC2")
    # 2 x 32 layers x 1088 positions x 2560 x 2 bytes: 356 MB of KV cache per sample in fp16.
    assert 2 * 32 * 1088 * 2560 * 2 == 356_515_840
    per_sample = bytes_per_sample(c, 2)
    assert per_sample == 356_515_840 + 8 * 1088 * 2560 * 2
    gib = 2**30
    # 80 GB card with the 4.95 GB of weights loaded: about 74 GiB free -> more than the cap.
    assert auto_batch_size(c, 2, 74 * gib) == MAX_AUTO_BATCH
    # 20 GiB free: (0.9 x 20 - 3) GiB / 401 MB = 40.
    assert auto_batch_size(c, 2, 20 * gib) == int((0.9 * 20 - 3) * gib // per_sample) == 40
    assert auto_batch_size(c, 4, 20 * gib) == 20  # fp32 halves it
    assert auto_batch_size(c, 2, 1 * gib) == 1  # never below one
    assert int((0.9 * 74 - 3) * gib // per_sample) == 170
    assert auto_batch_size(c, 2, 74 * gib, cap=128) == 128
    assert auto_batch_size(c, 2, 74 * gib, cap=256) == 170


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_graph_steps_equal_eager_on_gpu(tiny_params, tiny_config):
    c = tiny_config
    model = model_with_eos_bias(tiny_params, 1.1).cuda()
    left, image, right = (x.cuda() for x in split(c, random_sequence(c, batch=4, seed=80)))
    engine = DecodeEngine(model, max_batch=4, key_bucket=8)
    assert engine.use_graphs
    graphed = generate_image_tokens(model, left, GREEDY, decoding="graph", engine=engine)
    assert torch.equal(graphed, generate_image_tokens(model, left, GREEDY, decoding="cached"))
    text = generate_right_text(model, left, image, right[:, :2], GREEDY, decoding="graph", engine=engine)
    assert text == generate_right_text(model, left, image, right[:, :2], GREEDY, decoding="cached")
    status = engine.status()
    assert status["fell_back"] == {} and status["captured"] == len(engine.steps) > 2, status
    assert status["kernels"]["image x4"] in ("efficient", "math", "cudnn", "windows")
