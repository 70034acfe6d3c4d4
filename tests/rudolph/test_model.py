import pytest
import torch
from helpers.rudolph_data import random_sequence
from helpers.rudolph_reference import reference_forward

from solution.rudolph import CONFIGS, KVCache, RudolphConfig, build_model, get_config


def test_matches_independent_reference(tiny_model, tiny_params, tiny_config):
    ids = random_sequence(tiny_config, batch=2)
    sd = {k: v.float() for k, v in tiny_model.state_dict().items()}
    with torch.no_grad():
        ours = tiny_model(ids)
    expected = reference_forward(tiny_params, sd, ids)
    assert ours.shape == (2, tiny_config.seq_length, tiny_config.text_vocab + tiny_config.image_vocab)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [1, 5, 24, 25, 30, 40, 41, 52])
def test_prefix_logits_equal_first_positions_of_full(tiny_model, tiny_config, n):
    ids = random_sequence(tiny_config, batch=2, seed=1)
    with torch.no_grad():
        full = tiny_model(ids)
        prefix = tiny_model(ids[:, :n])
    torch.testing.assert_close(prefix, full[:, :n], rtol=1e-5, atol=1e-5)


def test_prefix_matches_reference_at_part_borders(tiny_model, tiny_params, tiny_config):
    ids = random_sequence(tiny_config, batch=1, seed=2)
    sd = dict(tiny_model.state_dict())
    for n in (tiny_config.l_text_seq_length, tiny_config.l_text_seq_length + 3,
              tiny_config.l_text_seq_length + tiny_config.image_seq_length + 1):
        with torch.no_grad():
            torch.testing.assert_close(tiny_model(ids[:, :n]), reference_forward(tiny_params, sd, ids[:, :n]),
                                       rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("chunks", [[52], [24, 16, 12], [1] * 52, [30, 1, 1, 20]])
def test_cached_chunks_equal_full_recompute(tiny_model, tiny_config, chunks):
    ids = random_sequence(tiny_config, batch=3, seed=3)
    cache = tiny_model.new_cache(3)
    pieces, start = [], 0
    with torch.no_grad():
        for size in chunks:
            pieces.append(tiny_model(ids[:, start:start + size], cache))
            start += size
        full = tiny_model(ids)
    assert cache.length == tiny_config.seq_length
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=1e-5, atol=1e-5)


def test_last_only_and_cache_keep(tiny_model, tiny_config):
    ids = random_sequence(tiny_config, batch=3, seed=4)
    cache = tiny_model.new_cache(3)
    with torch.no_grad():
        last = tiny_model(ids[:, :30], cache, last_only=True)
        kept = cache.keep(torch.tensor([2, 0]))  # rows 2 and 0, moved to the front in place
        nxt = tiny_model(ids[[2, 0], 30:31], kept)
        full = tiny_model(ids[[2, 0], :31])
    assert last.shape[1] == 1
    assert kept.batch_size == 2 and kept.keys.data_ptr() == cache.keys.data_ptr()
    torch.testing.assert_close(nxt[:, 0], full[:, 30], rtol=1e-5, atol=1e-5)


def test_positions_beyond_sequence_are_refused(tiny_model, tiny_config):
    with pytest.raises(ValueError, match="outside the sequence"):
        tiny_model(torch.zeros(1, tiny_config.seq_length + 1, dtype=torch.long))
    cache = tiny_model.new_cache(1)
    cache.length = tiny_config.seq_length
    with pytest.raises(ValueError, match="outside the sequence"):
        tiny_model(torch.zeros(1, 1, dtype=torch.long), cache)


def official_keys(num_layers: int) -> set[str]:
    top = ["text_embeddings.weight", "image_embeddings.weight", "l_text_pos_embeddings.weight",
           "r_text_pos_embeddings.weight", "image_row_embeddings.weight", "image_col_embeddings.weight",
           "to_logits.0.weight", "to_logits.0.bias", "to_logits.1.weight", "to_logits.1.bias",
           "transformer.final_layernorm.weight", "transformer.final_layernorm.bias",
           "transformer.row_mask", "transformer.col_mask", "transformer.conv_mask", "transformer.last_conv_mask"]
    per_layer = ["input_layernorm", "before_first_addition_layernorm", "before_second_addition_layernorm",
                 "post_attention_layernorm", "attention.query_key_value", "attention.dense", "mlp.dense_h_to_4h",
                 "mlp.dense_4h_to_h"]
    keys = set(top)
    for i in range(num_layers):
        for name in per_layer:
            keys |= {f"transformer.layers.{i}.{name}.weight", f"transformer.layers.{i}.{name}.bias"}
    return keys


def test_published_2_7b_shapes_on_meta_device():
    with torch.device("meta"):
        model = build_model("2.7B-FBC2")
    sd = model.state_dict()
    assert set(sd) == official_keys(32)
    assert sd["text_embeddings.weight"].shape == (17792, 2560)
    assert sd["image_embeddings.weight"].shape == (9216, 2560)
    assert sd["l_text_pos_embeddings.weight"].shape == (385, 2560)
    assert sd["r_text_pos_embeddings.weight"].shape == (129, 2560)
    assert sd["image_row_embeddings.weight"].shape == (24, 2560)
    assert sd["to_logits.1.weight"].shape == (17792 + 9216, 2560)
    assert sd["transformer.layers.0.attention.query_key_value.weight"].shape == (7680, 2560)
    assert sd["transformer.layers.31.mlp.dense_h_to_4h.weight"].shape == (10240, 2560)
    assert sd["transformer.row_mask"].shape == (1088, 1088)
    n_params = sum(p.numel() for p in model.parameters())
    assert 2.5e9 < n_params < 3.0e9


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_registry_configs_build(name):
    with torch.device("meta"):
        model = build_model(name)
    assert set(model.state_dict()) == official_keys(model.config.num_layers)


def test_official_state_dict_with_foreign_masks_loads_strictly(tiny_model, tiny_config):
    sd = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    # The reference builds its conv masks over l + m*m + l positions and stores float masks:
    # any shape is accepted and replaced by our own.
    bigger = tiny_config.l_text_seq_length + tiny_config.image_seq_length + tiny_config.l_text_seq_length
    sd["transformer.conv_mask"] = torch.ones(bigger, bigger)
    sd["transformer.last_conv_mask"] = torch.ones(bigger, bigger)
    fresh = build_model(dict(CONFIGS["tiny"]))
    fresh.load_state_dict(sd, strict=True)
    assert torch.equal(fresh.transformer.conv_mask, tiny_model.transformer.conv_mask)
    ids = random_sequence(tiny_config, batch=1)
    with torch.no_grad():
        torch.testing.assert_close(fresh.eval()(ids), tiny_model(ids))
    del sd["transformer.row_mask"]  # a state dict without masks is accepted too
    fresh.load_state_dict(sd, strict=True)


def test_params_validation():
    params = dict(CONFIGS["tiny"])
    with pytest.raises(ValueError, match="unknown RUDOLPH parameter"):
        build_model({**params, "num_layer": 3})
    with pytest.raises(ValueError, match="missing RUDOLPH parameter"):
        build_model({k: v for k, v in params.items() if k != "kernel_size"})
    with pytest.raises(ValueError, match="not divisible"):
        build_model({**params, "num_attention_heads": 5})
    with pytest.raises(ValueError, match="unknown RUDOLPH config"):
        get_config("3B")
    # Official params dicts carry extra keys that do not change the computation.
    config = get_config({**params, "mlp_activation": "gelu_jit", "cogview_pb_relax": True,
                         "embedding_dropout_prob": 0.1})
    assert isinstance(config, RudolphConfig) and config.text_vocab == 512 + 16


def test_sizes_of_2_7b():
    c = get_config("2.7B-FBC2")
    assert (c.text_vocab, c.image_vocab, c.seq_length, c.image_seq_length) == (17792, 9216, 1088, 576)


def test_cache_dtype_and_shape_follow_model(tiny_model, tiny_config):
    cache = tiny_model.new_cache(2)
    assert isinstance(cache, KVCache)
    assert cache.keys.shape == (8, 2, 4, tiny_config.seq_length, 16) and cache.keys.dtype == torch.float32


def test_embedding_gradients_are_scaled_to_ten_percent(tiny_params, tiny_config):
    torch.manual_seed(0)
    model = build_model(tiny_params)
    ids = random_sequence(tiny_config, batch=1)
    model(ids).square().mean().backward()
    sd = {k: v.detach().clone().requires_grad_(v.is_floating_point()) for k, v in model.state_dict().items()}
    reference_forward(tiny_params, sd, ids).square().mean().backward()  # no scaling there
    for name in ("text_embeddings.weight", "image_row_embeddings.weight", "r_text_pos_embeddings.weight"):
        ours = dict(model.named_parameters())[name].grad
        torch.testing.assert_close(ours, 0.1 * sd[name].grad, rtol=1e-3, atol=1e-7)
    # Deeper weights get the full gradient.
    torch.testing.assert_close(model.to_logits[1].weight.grad, sd["to_logits.1.weight"].grad, rtol=1e-3, atol=1e-7)


def test_embedding_dropout_acts_in_training_only(tiny_params, tiny_config):
    torch.manual_seed(0)
    model = build_model({**tiny_params, "embedding_dropout_prob": 0.5})
    ids = random_sequence(tiny_config, batch=2)
    clean = model.eval().embed(ids)
    dropped = model.train().embed(ids)
    kept = dropped != 0
    assert 0.3 < kept.float().mean() < 0.7  # about half of the entries are zeroed
    torch.testing.assert_close(dropped[kept], 2 * clean[kept])  # the rest are scaled by 1 / (1 - p)
    torch.testing.assert_close(model.eval().embed(ids), clean)


def test_dropout_probabilities_out_of_range_are_refused(tiny_params):
    with pytest.raises(ValueError, match="embedding_dropout_prob must lie in"):
        get_config({**tiny_params, "embedding_dropout_prob": 1.0})


def test_sequence_geometry(tiny_config):
    c = tiny_config  # l 24, image 4x4, r 12; V_text 512 + 16
    assert c.parts == {"left": (0, 24), "image": (24, 40), "right": (40, 52)}
    assert c.pad_position_start == 528 - 24
    assert c.pad_position_ids(0) == 504 and c.pad_position_ids(23) == 527  # the last text id
