"""scripts/train_vqgan.py and scripts/train_bpe.py, and the VQGAN quantisers they train with."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from solution.rudolph.tokenizer import Tokenizer
from solution.train.sources import read_vqgan_config
from solution.train.vqgan_training import QUANTIZERS, VQGANLossWeights, reconstruct, vqgan_loss
from solution.vqgan import build_vqgan, get_vqgan_config, load_vqgan

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_vqgan():
    config = get_vqgan_config("tiny")
    torch.manual_seed(0)
    return build_vqgan(config["ddconfig"], config["n_embed"], config["embed_dim"])


def test_argmax_straight_through_is_hard_forward_and_differentiable():
    torch.manual_seed(0)
    scores = torch.randn(2, 5, 3, 3, requires_grad=True)
    one_hot = QUANTIZERS["argmax-st"](scores, 1.0)
    hard = torch.nn.functional.one_hot(scores.argmax(1), 5).permute(0, 3, 1, 2).float()
    assert torch.allclose(one_hot.detach(), hard, atol=1e-6)
    (one_hot * torch.randn_like(one_hot)).sum().backward()
    assert scores.grad is not None and scores.grad.abs().sum() > 0


@pytest.mark.parametrize("quantizer", sorted(QUANTIZERS))
def test_a_few_steps_reduce_the_reconstruction_error(quantizer):
    vqgan = tiny_vqgan().train()
    torch.manual_seed(1)
    images = torch.rand(4, 3, 1, 1).expand(4, 3, 32, 32).contiguous()  # plain colours: learnable quickly
    optimizer = torch.optim.Adam(vqgan.parameters(), lr=3e-3)
    errors = []
    for _ in range(25):
        recon, scores = reconstruct(vqgan, images, quantizer, tau=1.0)
        loss, parts = vqgan_loss(recon, images, scores, quantizer, VQGANLossWeights())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        errors.append(parts["l2"])
    assert min(errors[-3:]) < 0.5 * errors[0], errors


def test_train_vqgan_script_writes_a_loadable_vqgan(tmp_path):
    out = tmp_path / "vq"
    csv = tmp_path / "vq.csv"
    assert load_script("train_vqgan").main(["--config", "tiny", "--out", str(out), "--per-task", "2", "--steps", "3",
                                             "--batch-size", "4", "--log-every", "1", "--emission-csv", str(csv)]) == 0
    config = read_vqgan_config(None, out)
    assert config["n_embed"] == 64
    vqgan = load_vqgan(out / "vqgan.safetensors", config)
    assert vqgan.encode(torch.rand(1, 3, 32, 32)).shape == (1, 64)
    summary = json.loads((out / "vqgan_summary.json").read_text())
    assert summary["steps"] == 3 and (out / "reconstructions.png").is_file()
    assert len((out / "vqgan_train_log.jsonl").read_text().splitlines()) == 3
    assert "VQGAN tiny" in csv.read_text()


def test_train_bpe_script_uses_the_rudalle_ids(tmp_path):
    out = tmp_path / "bpe.model"
    assert load_script("train_bpe").main(["--out", str(out), "--per-task", "5", "--vocab-size", "150"]) == 0
    tok = Tokenizer(out)
    assert tok.bpe.id_to_subword(0) == "<PAD>" and tok.bpe.id_to_subword(3) == "<EOS>"
    ids = tok.encode_left("Ответь на вопрос", 12, "<LT_VQA>")
    assert ids[0] == 2 and ids[1] == tok.bpe_vocab_size + 10 and 3 in ids.tolist()
