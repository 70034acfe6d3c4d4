import argparse
import sys
import types
import warnings

import pytest
import torch
from safetensors.torch import save_file

from solution.vqgan import VQGANCheckpointError, load_vqgan


def _assert_same_outputs(a, b, images):
    ids = a.encode(images)
    assert torch.equal(ids, b.encode(images))
    assert torch.equal(a.decode(ids), b.decode(ids))


def test_plain_state_dict_round_trip(tiny, images, tmp_path):
    path = tmp_path / "vqgan.pt"
    torch.save(tiny.state_dict(), path)
    loaded = load_vqgan(path, "tiny")
    assert not loaded.training
    _assert_same_outputs(tiny, loaded, images)


def test_safetensors_round_trip(tiny, images, tmp_path):
    path = tmp_path / "vqgan.safetensors"
    save_file(tiny.state_dict(), str(path))
    _assert_same_outputs(tiny, load_vqgan(path, "tiny"), images)


def test_lightning_checkpoint_with_loss_weights_loads_silently(tiny, images, tmp_path):
    state = dict(tiny.state_dict())
    state["loss.discriminator.main.0.weight"] = torch.randn(64, 3, 4, 4)
    state["loss.perceptual_loss.net.slice1.0.weight"] = torch.randn(64, 3, 3, 3)
    path = tmp_path / "vqgan.gumbelf8-sber.model.ckpt"
    torch.save({"state_dict": state, "epoch": 3, "global_step": 1000}, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_vqgan(path, "tiny")
    _assert_same_outputs(tiny, loaded, images)


def test_missing_key_is_named(tiny, tmp_path):
    state = dict(tiny.state_dict())
    del state["decoder.up.1.upsample.conv.weight"]
    path = tmp_path / "broken.pt"
    torch.save({"state_dict": state}, path)
    with pytest.raises(VQGANCheckpointError, match=r"1 missing key\(s\):\s+decoder\.up\.1\.upsample\.conv\.weight"):
        load_vqgan(path, "tiny")


def test_wrong_shape_is_named(tiny, tmp_path):
    state = dict(tiny.state_dict())
    state["quantize.embed.weight"] = torch.zeros(64, 33)
    path = tmp_path / "broken.pt"
    torch.save(state, path)
    with pytest.raises(VQGANCheckpointError, match=r"quantize\.embed\.weight: checkpoint \(64, 33\), model \(64, 32\)"):
        load_vqgan(path, "tiny")


def test_checkpoint_of_another_config_fails(tiny, tmp_path):
    path = tmp_path / "tiny.pt"
    torch.save(tiny.state_dict(), path)
    with pytest.raises(VQGANCheckpointError) as info:
        load_vqgan(path)  # default: sber-gumbelf8
    message = str(info.value)
    assert "missing key(s)" in message and "encoder.down.3.block.0.conv1.weight" in message
    assert "wrong shape" in message and "encoder.conv_in.weight: checkpoint (32, 3, 3, 3), model (128, 3, 3, 3)" in message


def test_unknown_extra_key_warns_and_loads(tiny, images, tmp_path):
    state = dict(tiny.state_dict())
    state["temperature_scheduler.step"] = torch.tensor(7)
    path = tmp_path / "extra.pt"
    torch.save(state, path)
    with pytest.warns(UserWarning, match=r"temperature_scheduler\.step"):
        loaded = load_vqgan(path, "tiny")
    _assert_same_outputs(tiny, loaded, images)


def test_pickled_hyper_parameters_load_with_a_warning(tiny, images, tmp_path):
    path = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": tiny.state_dict(), "hyper_parameters": argparse.Namespace(lr=1e-4)}, path)
    with pytest.warns(UserWarning, match="full unpickling"):
        loaded = load_vqgan(path, "tiny")
    _assert_same_outputs(tiny, loaded, images)


def test_pickled_objects_of_missing_code_give_a_clear_error(tiny, tmp_path, monkeypatch):
    module = types.ModuleType("lightning_only_pkg")

    class HParams:
        pass

    HParams.__module__, HParams.__qualname__ = module.__name__, "HParams"
    module.HParams = HParams
    monkeypatch.setitem(sys.modules, module.__name__, module)
    path = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": tiny.state_dict(), "hyper_parameters": HParams()}, path)
    monkeypatch.delitem(sys.modules, module.__name__)  # as on a machine without that package
    with pytest.warns(UserWarning, match="full unpickling"), \
            pytest.raises(VQGANCheckpointError, match="lightning_only_pkg.*re-save its state dict"):
        load_vqgan(path, "tiny")


def test_wrapped_vae_state_dict_is_unprefixed(tiny, images, tmp_path):
    # ruDALL-E's VQGanGumbelVAE.state_dict(): the GumbelVQ keys under `model.`
    path = tmp_path / "vae.pt"
    torch.save({f"model.{k}": v for k, v in tiny.state_dict().items()}, path)
    _assert_same_outputs(tiny, load_vqgan(path, "tiny"), images)


def test_dtype_and_missing_file(tiny, images, tmp_path):
    path = tmp_path / "vqgan.pt"
    torch.save(tiny.state_dict(), path)
    loaded = load_vqgan(path, "tiny", dtype=torch.bfloat16)
    assert {p.dtype for p in loaded.parameters()} == {torch.bfloat16}
    ids = loaded.encode(images)  # float32 images are cast to the model's dtype
    assert ids.shape == (2, 16) and ids.dtype == torch.long
    assert loaded.decode(ids).dtype == torch.bfloat16
    with pytest.raises(FileNotFoundError):
        load_vqgan(tmp_path / "nope.ckpt", "tiny")
