"""scripts/train_vqgan.py and scripts/train_bpe.py, and the VQGAN quantisers they train with."""

import json

import pytest
import torch
from helpers.scripts import load_script

from solution.rudolph import get_config
from solution.rudolph.tokenizer import Tokenizer
from solution.vqgan import build_vqgan, get_vqgan_config, load_vqgan
from training.sources import VQGAN_CONFIG_DIR, read_vqgan_config
from training.vqgan_training import QUANTIZERS, VQGANLossWeights, edge_l1, reconstruct, vqgan_loss


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


def test_edge_term_by_hand():
    # A vertical stroke of height 1 at column 1 of a 1x2x3 image against a flat target: horizontal
    # differences (+1, -1) in both rows vs 0 -> mean |dx| = 1; vertical differences 0 -> mean |dy| = 0.
    stroke = torch.tensor([[[[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]]])
    flat = torch.zeros_like(stroke)
    assert edge_l1(stroke, flat).item() == pytest.approx(0.5)
    # A constant offset changes L1/L2 but not the edges.
    assert edge_l1(stroke + 0.25, stroke).item() == pytest.approx(0.0, abs=1e-7)


def test_edge_weight_adds_the_edge_term_to_the_loss():
    torch.manual_seed(0)
    images, recon, scores = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4) * 2 - 1, torch.randn(2, 5, 2, 2)
    plain, parts = vqgan_loss(recon, images, scores, "argmax-st", VQGANLossWeights())
    edged, edged_parts = vqgan_loss(recon, images, scores, "argmax-st", VQGANLossWeights(edge=2.0))
    assert "edge" not in parts
    assert edged.item() == pytest.approx(plain.item() + 2.0 * edge_l1(recon, 2 * images - 1).item(), rel=1e-6)
    assert edged_parts["edge"] > 0


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


# Each shipped VQGAN config and the RUDOLPH config trained on its codes (scripts/train_demo.sh).
VQGAN_RUDOLPH_PAIRS = {"demo32.json": "demo", "demo64-f4.json": "demo-m16"}


@pytest.mark.parametrize("name", sorted(p.name for p in VQGAN_CONFIG_DIR.glob("*.json")))
def test_shipped_vqgan_configs_build_and_match_their_rudolph_config(name):
    config = read_vqgan_config(VQGAN_CONFIG_DIR / name, None)
    with torch.device("meta"):
        vqgan = build_vqgan(config["ddconfig"], config["n_embed"], config["embed_dim"])
    resolution = config["ddconfig"]["resolution"]
    assert resolution % vqgan.downsample_factor == 0
    if name in VQGAN_RUDOLPH_PAIRS:
        rudolph = get_config(VQGAN_RUDOLPH_PAIRS[name])
        assert rudolph.image_tokens_per_dim == resolution // vqgan.downsample_factor
        assert rudolph.image_vocab_size == config["n_embed"]
