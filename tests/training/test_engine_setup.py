"""Layer freezing groups and the DeepSpeed config rules."""

import json

import pytest
import torch

from solution.rudolph import build_model
from training.deepspeed_config import (
    DEFAULT_CONFIGS,
    build_client_optimizer,
    prepare_config,
    read_config,
)
from training.freezing import apply_freezing


def trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_freeze_groups_and_first_layers():
    model = build_model("tiny")
    everything = trainable(model)
    counts = apply_freezing(model, ["embeddings", "attention"], first_layers=2)
    left = trainable(model)
    assert counts["trainable"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert "text_embeddings.weight" not in left and "image_row_embeddings.weight" not in left
    assert not any(".attention." in n for n in left)
    assert not any(n.startswith(("transformer.layers.0.", "transformer.layers.1.")) for n in left)
    assert "transformer.layers.2.mlp.dense_h_to_4h.weight" in left
    assert "to_logits.1.weight" in left and "transformer.final_layernorm.weight" in left
    apply_freezing(model)  # no options: everything trains again
    assert trainable(model) == everything
    with pytest.raises(ValueError, match="unknown freeze group"):
        apply_freezing(model, ["wings"])


def test_default_configs_are_valid_json_with_the_documented_precisions():
    for device, path in DEFAULT_CONFIGS.items():
        config = json.loads(path.read_text())
        assert config["bf16"]["enabled"] == (device == "cuda")


def test_prepare_config_rules():
    raw = read_config(None, "cpu")
    config, optimizer = prepare_config(raw, "cpu", world_size=2, total_steps=100, micro_batch=3, grad_accum=2, lr=1e-3)
    assert config["train_batch_size"] == 12
    assert "optimizer" not in config and optimizer["params"]["lr"] == 1e-3
    assert config["scheduler"]["params"]["total_num_steps"] == 100
    assert config["scheduler"]["params"]["warmup_num_steps"] == 5
    assert config["scheduler"]["params"]["warmup_max_lr"] == 1e-3
    opt = build_client_optimizer(optimizer, [torch.nn.Parameter(torch.zeros(2))])
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["betas"] == (0.9, 0.98)
    with pytest.raises(ValueError, match="needs a GPU"):
        prepare_config(read_config(None, "cuda"), "cpu", 1, 10)
    with pytest.raises(ValueError, match="ZeRO stage 3"):
        prepare_config({"zero_optimization": {"stage": 3}}, "cpu", 1, 10)
    gpu, client = prepare_config(read_config(None, "cuda"), "cuda", 1, 10)
    assert client is None and gpu["optimizer"]["type"] == "AdamW"


def test_set_dropout_changes_training_outputs_only():
    from training.dropout import set_dropout

    torch.manual_seed(0)
    model = build_model("tiny")
    ids = torch.randint(0, 60, (2, model.config.seq_length))
    model.train()
    before = model(ids)
    assert torch.equal(before, model(ids))  # the tiny config has no dropout
    assert set_dropout(model, 0.2) == 3 * model.config.num_layers
    assert not torch.equal(model(ids), model(ids))
    model.eval()
    assert torch.allclose(model(ids), before, atol=1e-5)
    with pytest.raises(ValueError):
        set_dropout(model, 1.0)
