"""ruCLIP re-implementation: layout, tokenizer, preprocessing, scoring and loading, with random weights."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from evaluator.errors import WeightsUnavailable
from evaluator.metrics.ruclip import (
    CLIP_MEAN,
    CLIP_STD,
    OFFICIAL_TEMPLATES,
    RuCLIP,
    RuCLIPScorer,
    RuCLIPTokenizer,
    WeightsMismatch,
    build_ruclip,
    load_ruclip,
    preprocess_image,
)

TINY = {
    "embed_dim": 16,
    "image_resolution": 28,
    "vision_layers": 2,
    "vision_width": 64,  # 1 head (vision_width // 64)
    "vision_patch_size": 7,
    "context_length": 77,
    "vocab_size": 120,
    "transformer_width": 32,
    "transformer_heads": 2,
    "transformer_layers": 2,
}

# Shaped like ruclip-vit-large-patch14-336 (ViT-L/14 at 336; text 12 x 768 x 12 heads, as on the
# model card of its 224 sibling). Only used on the meta device to check key names and shapes.
LARGE_336 = {
    "embed_dim": 768,
    "image_resolution": 336,
    "vision_layers": 24,
    "vision_width": 1024,
    "vision_patch_size": 14,
    "context_length": 77,
    "vocab_size": 49408,
    "transformer_width": 768,
    "transformer_heads": 12,
    "transformer_layers": 12,
}

CORPUS = [
    "кошка сидит на окне и смотрит на улицу",
    "собака бежит по траве за мячом",
    "на фото видно красный автобус на улице города",
    "картинка с белым котом и чёрной собакой",
    "изображение с домом у реки",
    "фото, на котором изображено море и горы",
] * 20


@pytest.fixture(scope="module")
def bpe_path(tmp_path_factory):
    import youtokentome as yttm

    root = tmp_path_factory.mktemp("bpe")
    data = root / "corpus.txt"
    data.write_text("\n".join(CORPUS), encoding="utf-8")
    model = root / "bpe.model"
    yttm.BPE.train(data=str(data), model=str(model), vocab_size=100, n_threads=1)
    return str(model)


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return build_ruclip(TINY)


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [(28, 28), (40, 30), (30, 45), (64, 64), (33, 20)]
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in (sizes * n)[:n]]


TEXTS = ["Кошка на окне", "собака бежит", "красный автобус", "", "  Дом у реки  "]


# ---------------------------------------------------------------------------------------------- layout


def test_state_dict_layout_matches_ruclip_vit_large_patch14_336():
    with torch.device("meta"):
        model = RuCLIP(LARGE_336)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    # 24 visual and 12 text blocks of 12 tensors, plus 8 visual and 6 text tensors; no attn_mask.
    assert len(shapes) == 24 * 12 + 8 + 12 * 12 + 6
    assert not any("attn_mask" in k for k in shapes)
    assert shapes["visual.conv1.weight"] == (1024, 3, 14, 14)
    assert "visual.conv1.bias" not in shapes
    assert shapes["visual.class_embedding"] == (1024,)
    assert shapes["visual.positional_embedding"] == ((336 // 14) ** 2 + 1, 1024)
    assert shapes["visual.ln_pre.weight"] == (1024,)
    assert shapes["visual.transformer.resblocks.23.attn.in_proj_weight"] == (3 * 1024, 1024)
    assert shapes["visual.transformer.resblocks.23.attn.in_proj_bias"] == (3 * 1024,)
    assert shapes["visual.transformer.resblocks.0.attn.out_proj.weight"] == (1024, 1024)
    assert shapes["visual.transformer.resblocks.0.mlp.c_fc.weight"] == (4 * 1024, 1024)
    assert shapes["visual.transformer.resblocks.0.mlp.c_proj.bias"] == (1024,)
    assert shapes["visual.transformer.resblocks.0.ln_2.bias"] == (1024,)
    assert shapes["visual.ln_post.weight"] == (1024,)
    assert shapes["visual.proj"] == (1024, 768)
    assert shapes["transformer.resblocks.11.attn.in_proj_weight"] == (3 * 768, 768)
    assert shapes["transformer.resblocks.11.mlp.c_fc.weight"] == (4 * 768, 768)
    assert "transformer.resblocks.12.ln_1.weight" not in shapes
    assert shapes["token_embedding.weight"] == (49408, 768)
    assert shapes["positional_embedding"] == (77, 768)
    assert shapes["ln_final.weight"] == (768,)
    assert shapes["text_projection"] == (768, 768)
    assert shapes["logit_scale"] == ()
    assert model.visual.transformer.resblocks[0].attn.num_heads == 1024 // 64


def test_forward_shapes_and_causal_text_mask(tiny_model):
    pixels = torch.randn(3, 3, 28, 28)
    assert tiny_model.encode_image(pixels).shape == (3, 16)
    ids = torch.zeros(2, 77, dtype=torch.long)
    ids[:, :4] = torch.tensor([2, 10, 11, 3])
    assert tiny_model.encode_text(ids).shape == (2, 16)


def test_text_is_pooled_at_eos_id_3_not_at_argmax(tiny_model):
    base = torch.zeros(77, dtype=torch.long)
    base[:4] = torch.tensor([2, 40, 41, 3])
    after_eos = base.clone()
    after_eos[4:6] = torch.tensor([90, 99])  # larger ids after eos: argmax pooling would move there
    before_eos = base.clone()
    before_eos[1] = 50
    out = tiny_model.encode_text(torch.stack([base, after_eos, before_eos]))
    # The causal mask hides later tokens from the eos position, so tokens after eos change nothing.
    torch.testing.assert_close(out[0], out[1])
    assert not torch.allclose(out[0], out[2])


def test_text_without_exactly_one_eos_is_rejected(tiny_model):
    ids = torch.zeros(1, 77, dtype=torch.long)
    ids[0, :3] = torch.tensor([2, 10, 11])
    with pytest.raises(ValueError, match="eos"):
        tiny_model.encode_text(ids)


def test_build_ruclip_names_missing_config_fields():
    config = dict(TINY)
    del config["vision_patch_size"], config["vocab_size"]
    with pytest.raises(ValueError, match="vision_patch_size, vocab_size"):
        build_ruclip(config)


# ---------------------------------------------------------------------------------------------- tokenizer


def test_tokenizer_follows_ruclip_conventions(bpe_path):
    import youtokentome as yttm

    tokenizer = RuCLIPTokenizer(bpe_path, context_length=77)
    bpe = yttm.BPE(bpe_path)
    text = "Кошка сидит на окне"
    body = bpe.encode([text.lower()], output_type=yttm.OutputType.ID)[0]
    ids = tokenizer.encode(text)
    assert len(ids) == 77
    assert ids[0] == 2  # bos
    assert ids[1 : 1 + len(body)] == body
    assert ids[1 + len(body)] == 3  # eos right after the text
    assert ids[2 + len(body) :] == [0] * (77 - 2 - len(body))  # pad id 0
    assert tokenizer.encode("КОШКА СИДИТ НА ОКНЕ") == ids  # lower-cased
    assert min(body) > 3  # the BPE never emits the special ids


def test_tokenizer_truncates_long_text_keeping_eos(bpe_path):
    tokenizer = RuCLIPTokenizer(bpe_path, context_length=77)
    ids = tokenizer.encode(" ".join(CORPUS[:20]))
    assert len(ids) == 77
    assert ids[0] == 2 and ids[-1] == 3
    assert 0 not in ids and ids.count(3) == 1
    batch = tokenizer(["кошка", "собака бежит"])
    assert batch.dtype == torch.long and batch.shape == (2, 77)


def test_tokenizer_replaces_lone_surrogates_with_a_warning(bpe_path):
    tokenizer = RuCLIPTokenizer(bpe_path)
    with pytest.warns(UserWarning, match="replaced 1 lone surrogate.*U\\+DC00"):
        ids = tokenizer.encode("кошка \udc00 на окне")
    assert ids == tokenizer.encode("кошка \ufffd на окне")
    assert ids.count(1) == 1 and 1 not in tokenizer.encode("кошка на окне")  # one unk where the surrogate was


def test_tokenizer_needs_no_youtokentome(bpe_path):
    import youtokentome as yttm

    text = "Кошка\tсидит  на окне"
    code = ("import json, sys; sys.modules['youtokentome'] = None\n"
            "from evaluator.metrics.ruclip import RuCLIPTokenizer\n"
            f"print(json.dumps(RuCLIPTokenizer({bpe_path!r}).encode({text!r})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    body = yttm.BPE(bpe_path).encode([text.lower()], output_type=yttm.OutputType.ID)[0]
    assert json.loads(result.stdout.strip().splitlines()[-1])[: len(body) + 2] == [2, *body, 3]


# ---------------------------------------------------------------------------------------------- images


def test_preprocess_takes_the_central_square_and_normalises():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    image[:, :, 0] = 255  # red everywhere ...
    image[:, 10:50] = (0, 0, 255)  # ... except the central 40 x 40 square, which is blue
    x = preprocess_image(Image.fromarray(image), 20)
    assert x.shape == (3, 20, 20) and x.dtype == np.float32
    blue = (np.array([0.0, 0.0, 1.0]) - np.array(CLIP_MEAN)) / np.array(CLIP_STD)
    np.testing.assert_allclose(x, np.broadcast_to(blue[:, None, None], x.shape), atol=1e-5)

    tall = Image.fromarray(image.transpose(1, 0, 2).copy())  # 60 high, 40 wide: crop rows 10..50
    np.testing.assert_allclose(preprocess_image(tall, 20), x, atol=1e-5)


def test_preprocess_without_resize_is_exact_and_converts_modes():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
    x = preprocess_image(Image.fromarray(pixels), 12, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    expected = (pixels.astype(np.float32) / 255 - 0.5) / np.array([0.25, 0.5, 1.0], dtype=np.float32)
    np.testing.assert_allclose(x, expected.transpose(2, 0, 1), rtol=1e-6, atol=1e-6)
    grey = Image.fromarray(pixels[:, :, 0])
    y = preprocess_image(grey, 12) * np.array(CLIP_STD)[:, None, None] + np.array(CLIP_MEAN)[:, None, None]
    np.testing.assert_allclose(y[0], pixels[:, :, 0] / 255, atol=1e-6)  # L -> RGB repeats the channel
    np.testing.assert_allclose(y[2], pixels[:, :, 0] / 255, atol=1e-6)
    assert preprocess_image(Image.fromarray(pixels).convert("RGBA"), 12).shape == (3, 12, 12)


# ---------------------------------------------------------------------------------------------- scorer


def test_similarity_is_cosine_of_normalised_embeddings_in_order(tiny_model, bpe_path):
    scorer = RuCLIPScorer(tiny_model, RuCLIPTokenizer(bpe_path), batch_size=2)
    images, texts = _images(5), TEXTS
    image_emb, text_emb = scorer.encode_images(images), scorer.encode_texts(texts)
    assert image_emb.shape == (5, 16) and text_emb.shape == (5, 16)
    np.testing.assert_allclose(np.linalg.norm(image_emb, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(text_emb, axis=1), 1, rtol=1e-5)
    sims = scorer.similarity(images, texts)
    assert isinstance(sims, list) and len(sims) == 5 and all(isinstance(s, float) for s in sims)
    np.testing.assert_allclose(sims, (image_emb * text_emb).sum(axis=1), rtol=1e-5, atol=1e-6)
    # Same numbers whatever the batch size; a pair's score does not depend on its neighbours.
    unbatched = RuCLIPScorer(tiny_model, RuCLIPTokenizer(bpe_path), batch_size=8)
    np.testing.assert_allclose(unbatched.similarity(images, texts), sims, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scorer.similarity(images[::-1], texts[::-1]), sims[::-1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="5 images but 4 texts"):
        scorer.similarity(images, texts[:4])


def test_text_embedding_is_the_official_template_ensemble(tiny_model, bpe_path):
    tokenizer = RuCLIPTokenizer(bpe_path)
    scorer = RuCLIPScorer(tiny_model, tokenizer)
    assert scorer.templates == OFFICIAL_TEMPLATES and len(OFFICIAL_TEMPLATES) == 6
    text = "  Кошка на Окне "
    with torch.no_grad():
        raw = [tiny_model.encode_text(tokenizer([t.format("кошка на окне")]))[0] for t in OFFICIAL_TEMPLATES]
    mean = torch.stack(raw).mean(0)  # averaged before normalising, as ruclip.Predictor does
    np.testing.assert_allclose(
        scorer.encode_texts([text])[0], (mean / mean.norm()).numpy(), rtol=1e-5, atol=1e-6
    )

    plain = RuCLIPScorer(tiny_model, tokenizer, templates=("{}",))
    np.testing.assert_allclose(
        plain.encode_texts([text])[0], (raw[0] / raw[0].norm()).numpy(), rtol=1e-5, atol=1e-6
    )
    assert not np.allclose(plain.encode_texts([text]), scorer.encode_texts([text]))


# ---------------------------------------------------------------------------------------------- loading


def _write_checkpoint(directory, model, bpe_path, config=TINY):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    torch.save(model.state_dict(), directory / "pytorch_model.bin")
    (directory / "bpe.model").write_bytes(open(bpe_path, "rb").read())
    return str(directory)


def test_save_then_load_gives_identical_embeddings(tmp_path, tiny_model, bpe_path):
    weights_dir = _write_checkpoint(tmp_path / "ruclip", tiny_model, bpe_path)
    loaded = load_ruclip(weights_dir)
    original = RuCLIPScorer(tiny_model, RuCLIPTokenizer(bpe_path))
    images = _images(3, seed=5)
    np.testing.assert_array_equal(loaded.encode_images(images), original.encode_images(images))
    np.testing.assert_array_equal(loaded.encode_texts(TEXTS), original.encode_texts(TEXTS))
    assert loaded.similarity(images, TEXTS[:3]) == original.similarity(images, TEXTS[:3])


def test_mean_and_std_are_read_from_config(tmp_path, tiny_model, bpe_path):
    config = dict(TINY, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    scorer = load_ruclip(_write_checkpoint(tmp_path / "ruclip", tiny_model, bpe_path, config))
    assert scorer.mean == (0.5, 0.5, 0.5) and scorer.std == (0.5, 0.5, 0.5)
    assert load_ruclip(_write_checkpoint(tmp_path / "plain", tiny_model, bpe_path)).mean == CLIP_MEAN


def test_missing_directory_or_files_raise_weights_missing(tmp_path, tiny_model, bpe_path):
    absent = tmp_path / "nowhere"
    with pytest.raises(WeightsUnavailable, match="directory not found.*nowhere"):
        load_ruclip(str(absent))
    weights_dir = _write_checkpoint(tmp_path / "ruclip", tiny_model, bpe_path)
    (tmp_path / "ruclip" / "bpe.model").unlink()
    (tmp_path / "ruclip" / "config.json").unlink()
    with pytest.raises(WeightsUnavailable) as info:
        load_ruclip(weights_dir)
    assert str(info.value).endswith("lacks: config.json, bpe.model")


def test_checkpoint_with_missing_or_extra_keys_is_rejected_with_a_list(tmp_path, tiny_model, bpe_path):
    weights_dir = _write_checkpoint(tmp_path / "ruclip", tiny_model, bpe_path)
    state = tiny_model.state_dict()
    del state["visual.proj"], state["transformer.resblocks.1.ln_2.bias"]
    state["visual.extra"] = torch.zeros(1)
    torch.save(state, tmp_path / "ruclip" / "pytorch_model.bin")
    with pytest.raises(WeightsMismatch) as info:
        load_ruclip(weights_dir)
    message = str(info.value)
    assert "missing keys (2): visual.proj, transformer.resblocks.1.ln_2.bias" in message
    assert "unexpected keys (1): visual.extra" in message
    assert isinstance(info.value, WeightsUnavailable)


def test_checkpoint_with_wrong_shapes_or_config_is_rejected(tmp_path, tiny_model, bpe_path):
    weights_dir = _write_checkpoint(tmp_path / "ruclip", tiny_model, bpe_path)
    (tmp_path / "ruclip" / "config.json").write_text(json.dumps(dict(TINY, embed_dim=8)))
    with pytest.raises(WeightsMismatch, match=r"visual.proj: checkpoint \(64, 16\) vs model \(64, 8\)"):
        load_ruclip(weights_dir)
    (tmp_path / "ruclip" / "config.json").write_text(json.dumps({"embed_dim": 16}))
    with pytest.raises(WeightsMismatch, match="lacks the fields: image_resolution"):
        load_ruclip(weights_dir)
    (tmp_path / "ruclip" / "config.json").write_text("{not json")
    with pytest.raises(WeightsMismatch, match="cannot read ruCLIP config"):
        load_ruclip(weights_dir)


def test_unreadable_checkpoint_is_reported_not_raised_raw(tmp_path, tiny_model, bpe_path):
    weights_dir = _write_checkpoint(tmp_path / "ruclip", tiny_model, bpe_path)
    (tmp_path / "ruclip" / "pytorch_model.bin").write_bytes(b"truncated download")
    with pytest.raises(WeightsMismatch, match="cannot read ruCLIP checkpoint .*pytorch_model.bin"):
        load_ruclip(weights_dir)
