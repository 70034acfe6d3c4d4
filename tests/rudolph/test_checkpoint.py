import pytest
import torch
from helpers.rudolph_data import random_sequence
from safetensors.torch import save_file

from solution.rudolph import build_model, load_model, read_state_dict, save_model


@pytest.fixture()
def ids(tiny_config):
    return random_sequence(tiny_config, batch=2, seed=20)


def logits(model, ids):
    with torch.no_grad():
        return model.eval()(ids)


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "model.safetensors"])
def test_save_then_load_gives_identical_logits(tmp_path, tiny_model, tiny_params, ids, name):
    path = save_model(tiny_model, tmp_path / name)
    assert (tmp_path / "config.json").is_file()
    loaded = load_model(path, tmp_path / "config.json")
    assert torch.equal(logits(loaded, ids), logits(tiny_model, ids))


def test_lightning_checkpoint(tmp_path, tiny_model, tiny_params, ids):
    state = {f"model.{k}": v for k, v in tiny_model.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 3, "global_step": 100, "optimizer_states": [{"lr": 1e-4}]},
               tmp_path / "last.ckpt")
    loaded = load_model(tmp_path / "last.ckpt", tiny_params)
    assert torch.equal(logits(loaded, ids), logits(tiny_model, ids))


def test_deepspeed_module_wrapper(tmp_path, tiny_model, tiny_params, ids):
    torch.save({"module": tiny_model.state_dict(), "dp_world_size": 2}, tmp_path / "mp_rank_00_model_states.pt")
    loaded = load_model(tmp_path / "mp_rank_00_model_states.pt", tiny_params)
    assert torch.equal(logits(loaded, ids), logits(tiny_model, ids))


def test_fp16_state_dict_loads_into_bf16(tmp_path, tiny_model, tiny_params):
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in tiny_model.state_dict().items()},
               tmp_path / "half.bin")
    model = load_model(tmp_path / "half.bin", tiny_params, dtype=torch.bfloat16)
    assert model.text_embeddings.weight.dtype == torch.bfloat16
    assert model.transformer.row_mask.dtype == torch.bool


def test_missing_and_misshaped_keys_are_named(tmp_path, tiny_model, tiny_params):
    state = dict(tiny_model.state_dict())
    del state["transformer.layers.3.mlp.dense_4h_to_h.bias"]
    state["image_row_embeddings.weight"] = torch.zeros(3, 64)
    state["extra.weight"] = torch.zeros(1)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ValueError) as err:
        load_model(tmp_path / "bad.safetensors", tiny_params)
    text = str(err.value)
    assert "missing (1): transformer.layers.3.mlp.dense_4h_to_h.bias" in text
    assert "unexpected (1): extra.weight" in text
    assert "image_row_embeddings.weight: checkpoint (3, 64) vs model (4, 64)" in text


def test_wrong_config_for_checkpoint(tmp_path, tiny_model, tiny_params):
    save_model(tiny_model, tmp_path / "m.bin")
    with pytest.raises(ValueError, match="missing"):
        load_model(tmp_path / "m.bin", {**tiny_params, "num_layers": 9})


def test_missing_file_and_non_state_dict(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        read_state_dict(tmp_path / "nope.bin")
    torch.save({"epoch": 1}, tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="no state dict"):
        read_state_dict(tmp_path / "empty.pt")


def test_round_trip_keeps_training_ability(tmp_path, tiny_params, tiny_config):
    torch.manual_seed(1)
    model = build_model(tiny_params)
    save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors", tmp_path / "config.json").train()
    ids = random_sequence(tiny_config, batch=1)
    loaded(ids).mean().backward()
    assert loaded.text_embeddings.weight.grad is not None
