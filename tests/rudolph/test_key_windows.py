"""Key windows: a decode step whose row and conv layers read only the left text and the image rows
their mask lets the bucket's queries see (masks.key_ranges), in place, with the logits of the whole
forward; eagerly and as CUDA graphs through the CPU stand-in."""

import pytest
import torch
from helpers.rudolph_data import random_sequence

from solution.rudolph import CONFIGS, GREEDY, DecodeEngine, generation, get_config
from solution.rudolph.generation import bucket_start, generate_image_tokens, key_end
from solution.rudolph.masks import MASK_KINDS, build_mask, key_ranges


def covered(ranges, size):
    cover = torch.zeros(size, dtype=torch.bool)
    for start, end in ranges:
        cover[start:end] = True
    return cover


def image_buckets(config, bucket):
    """(first query, key end) of every bucket of image queries."""
    start, end = config.parts["image"]
    return [(max(start, bucket_start(keys, bucket)), min(keys, end))
            for keys in sorted({key_end(p, bucket, config.seq_length) for p in range(start, end)})]


@pytest.mark.parametrize("name, bucket", [("tiny", 1), ("tiny", 5), ("tiny", 8), ("demo-m16", 16),
                                          ("350M", 128), ("2.7B", 128)])
@pytest.mark.parametrize("kind", MASK_KINDS)
def test_key_ranges_cover_every_key_a_query_of_the_bucket_may_see(name, bucket, kind):
    c = get_config(CONFIGS[name])
    mask = build_mask(kind, c, "cpu")
    for lo, hi in image_buckets(c, bucket):
        ranges = key_ranges(kind, c, (lo, hi))
        assert all(0 <= a < b <= hi for a, b in ranges) and list(ranges) == sorted(ranges)
        visible = mask[lo:hi, :hi].any(dim=0)
        assert not (visible & ~covered(ranges, hi)).any(), (lo, hi, ranges)


def test_windows_at_2_7b_read_the_left_text_and_a_few_image_rows():
    """Hand-counted at 2.7B (l=384, m=24, kernel 7, last kernel 9), the image bucket of queries [640, 768):
    a row query q sees back to q - 24; a conv query back to its row minus 3, column minus 3."""
    c = get_config(CONFIGS["2.7B"])
    queries = (640, 768)
    assert key_ranges("row_mask", c, queries) == ((0, 384), (640 - 24, 768))
    # query 640 is image cell 256 = row 10, col 16: conv sees rows 7.., columns 13..: cell 7*24+13 = 181
    assert key_ranges("conv_mask", c, queries) == ((0, 384), (384 + 181, 768))
    assert key_ranges("last_conv_mask", c, queries) == ((0, 384), (384 + 6 * 24 + 12, 768))
    assert key_ranges("col_mask", c, queries) == ((0, 768),)  # a column reaches back to the first row
    assert key_ranges("row_mask", c, (384, 512)) == ((0, 512),)  # the first row sees the image start


def test_key_ranges_of_text_queries_are_everything_before_them():
    c = get_config(CONFIGS["tiny"])
    right_start, end = c.parts["right"]
    for kind in MASK_KINDS:
        assert key_ranges(kind, c, (right_start, end)) == ((0, end),)
        assert key_ranges(kind, c, (0, 5)) == ((0, 5),)
    with pytest.raises(ValueError, match="outside the sequence"):
        key_ranges("row_mask", c, (3, c.seq_length + 1))


@pytest.mark.parametrize("bucket", [1, 5, 8])
def test_windowed_step_logits_equal_full_forward_at_every_image_position(tiny_model, tiny_config, bucket):
    c = tiny_config
    ids = random_sequence(c, batch=2, seed=26)
    narrowed = 0
    with torch.no_grad():
        full = tiny_model(ids)
        cache = tiny_model.new_cache(2)
        tiny_model(ids, cache)
        for p in range(*c.parts["image"]):
            keys = key_end(p, bucket, c.seq_length)
            first = max(c.parts["image"][0], bucket_start(keys, bucket))
            step = tiny_model.step(ids[:, p], torch.full((2,), p), cache, "image", keys, window_from=first)
            torch.testing.assert_close(step, full[:, p], rtol=1e-5, atol=1e-5)
            narrowed += len(key_ranges("row_mask", c, (first, min(keys, c.parts["image"][1])))) == 2
    assert narrowed > 0  # some buckets really read two ranges


def test_windowed_step_ignores_what_lies_between_the_ranges(tiny_model, tiny_config):
    """Keys outside the ranges are not read: huge values planted there change nothing."""
    c = tiny_config
    ids = random_sequence(c, batch=2, seed=27)
    image_start = c.parts["image"][0]
    p = image_start + 12
    ranges = key_ranges("row_mask", c, (p, p + 1))
    assert len(ranges) == 2
    with torch.no_grad():
        cache = tiny_model.new_cache(2)
        tiny_model(ids[:, :p], cache)
        want = tiny_model(ids[:, :p + 1])[:, p]
        row_layers = [i for i, kind in enumerate(tiny_model.transformer.layer_mask_kinds) if kind == "row_mask"]
        cache.keys[row_layers, :, :, ranges[0][1]:ranges[1][0]] = float("nan")
        got = tiny_model.step(ids[:, p], torch.full((2,), p), cache, "image", p + 1, window_from=p)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_eager_static_decoding_uses_the_windows_and_equals_cached(tiny_model, tiny_config):
    left = random_sequence(tiny_config, batch=3, seed=46)[:, :tiny_config.l_text_seq_length]
    engine = DecodeEngine(tiny_model, max_batch=3, key_bucket=4)
    ids = generate_image_tokens(tiny_model, left, GREEDY, decoding="static", engine=engine)
    assert torch.equal(ids, generate_image_tokens(tiny_model, left, GREEDY, decoding="cached"))
    assert {step.window_from for step in engine.steps.values()} - {None}
    plain = DecodeEngine(tiny_model, max_batch=3, key_bucket=4, windows=False)
    assert torch.equal(ids, generate_image_tokens(tiny_model, left, GREEDY, decoding="static", engine=plain))
    assert {step.window_from for step in plain.steps.values()} == {None}


def test_graphs_with_the_windows_kernel_equal_cached(tiny_model, tiny_config, cuda_standin, monkeypatch):
    """The kernel choice picks the windows (forced here): every image step is captured reading its ranges."""
    monkeypatch.setattr(generation, "WARMUP_MS", 2.0)
    monkeypatch.setattr(generation, "TIMING_ROUNDS", 2)
    picked = {}

    def choose(times, matches):
        picked.update(matches)
        return "windows"

    monkeypatch.setattr(generation, "choose_kernel", choose)
    left = random_sequence(tiny_config, batch=2, seed=47)[:, :tiny_config.l_text_seq_length]
    engine = DecodeEngine(tiny_model, max_batch=2, use_graphs=True, key_bucket=4)
    ids = generate_image_tokens(tiny_model, left, GREEDY, decoding="graph", engine=engine)
    assert torch.equal(ids, generate_image_tokens(tiny_model, left, GREEDY, decoding="cached"))
    assert picked == {"math": True, "flash": True, "windows": True}  # every candidate matched the reference
    status = engine.status()
    assert status["fell_back"] == {} and status["captured"] == len(engine.steps) > 1
    assert status["kernels"] == {"image x2": "windows"}
    assert {step.window_from for step in engine.steps.values()} - {None}
