import json

import pytest
import torch

from solution.vqgan import (
    VQGANConfigError,
    find_vqgan_file,
    get_vqgan_config,
    load_vqgan,
    resolve_vqgan_config,
    save_vqgan_dir,
)


def test_saved_folder_round_trips(tmp_path, tiny, images):
    save_vqgan_dir(tiny, get_vqgan_config("tiny"), tmp_path / "vq")
    resolved = resolve_vqgan_config(None, tmp_path / "vq")
    assert resolved["ddconfig"]["ch_mult"] == [1, 1, 2] and resolved["n_embed"] == 64  # tuples saved as lists
    path = find_vqgan_file(tmp_path / "vq")
    assert path.name == "vqgan.safetensors" and find_vqgan_file(path) == path
    loaded = load_vqgan(path, resolved)
    assert torch.equal(loaded.encode(images), tiny.encode(images))
    assert loaded.image_size(8) == 32  # downsampling 4


def test_config_resolution_order(tmp_path):
    assert resolve_vqgan_config(None, tmp_path)["n_embed"] == 8192  # no vqgan_config.json: the Sber config
    assert resolve_vqgan_config("tiny", tmp_path)["n_embed"] == 64
    (tmp_path / "named.json").write_text(json.dumps({"name": "tiny"}))
    assert resolve_vqgan_config(tmp_path / "named.json")["n_embed"] == 64
    given = {"ddconfig": {}, "n_embed": 3, "embed_dim": 2}
    assert resolve_vqgan_config(given, tmp_path) is given


@pytest.mark.parametrize("text, message", [("{oops", "not valid JSON"), ("[1]", "expected a JSON object")])
def test_unreadable_config_file_is_named(tmp_path, text, message):
    (tmp_path / "vqgan_config.json").write_text(text)
    with pytest.raises(VQGANConfigError, match=message):
        resolve_vqgan_config(None, tmp_path)


def test_folder_without_checkpoint_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no VQGAN checkpoint"):
        find_vqgan_file(tmp_path)
