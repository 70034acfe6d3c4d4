import math

import pytest
import torch
import torch.nn.functional as F

from solution.vqgan import DDConfig, build_vqgan, get_vqgan_config
from solution.vqgan.model import AttnBlock, Downsample, Upsample

# ---------------------------------------------------------------- encode / decode on the tiny config


def test_encode_decode_shapes(tiny, images):
    ids = tiny.encode(images)
    assert tiny.downsample_factor == 4
    assert ids.shape == (2, 4 * 4) and ids.dtype == torch.long
    assert 0 <= ids.min() and ids.max() < tiny.n_embed
    out = tiny.decode(ids)
    assert out.shape == images.shape and out.dtype == torch.float32


def test_encode_non_square_is_row_major(tiny):
    x = torch.rand(1, 3, 8, 20, generator=torch.Generator().manual_seed(2))
    ids = tiny.encode(x)
    logits = tiny.code_logits(x)  # (1, n_embed, 2, 5)
    assert ids.shape == (1, 2 * 5)
    for r in range(2):
        for c in range(5):
            assert ids[0, r * 5 + c] == logits[0, :, r, c].argmax()


def test_encode_is_deterministic_and_per_image(tiny, images):
    a = tiny.encode(images)
    assert torch.equal(a, tiny.encode(images))
    assert torch.equal(a[1:], tiny.encode(images[1:]))  # batch composition does not matter
    assert len(a.unique()) > 1  # different inputs do reach different codes


def test_encode_maps_unit_interval_to_minus_one_one(tiny, images):
    # the encoder sees 2x - 1: encoding x equals running the modules on 2x - 1 by hand
    h = tiny.quant_conv(tiny.encoder(2 * images - 1))
    expected = tiny.quantize.proj(h).argmax(1).flatten(1)
    assert torch.equal(tiny.encode(images), expected)
    assert not torch.equal(tiny.quantize.proj(tiny.quant_conv(tiny.encoder(images))).argmax(1).flatten(1), expected)


def test_gumbel_sampling_follows_the_code_distribution():
    torch.manual_seed(0)
    model = build_vqgan(**get_vqgan_config("tiny"))
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    with torch.no_grad():  # logits independent of the image: log p for codes 0..3, never the others
        model.quantize.proj.weight.zero_()
        model.quantize.proj.bias.fill_(-1e4)
        model.quantize.proj.bias[:4] = probs.log()
    x = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    assert (model.encode(x) == 0).all()  # deterministic: the argmax

    ids = model.encode(x, gumbel=True, generator=torch.Generator().manual_seed(4))
    assert ids.max() < 4
    freq = torch.bincount(ids.flatten(), minlength=4).float() / ids.numel()  # 1024 draws, sd <= 0.016
    assert torch.allclose(freq, probs, atol=0.05), freq
    again = model.encode(x, gumbel=True, generator=torch.Generator().manual_seed(4))
    other = model.encode(x, gumbel=True, generator=torch.Generator().manual_seed(5))
    assert torch.equal(ids, again) and not torch.equal(ids, other)


def test_decode_equals_reference_one_hot_formula(tiny):
    ids = torch.randint(0, tiny.n_embed, (2, 16), generator=torch.Generator().manual_seed(5))
    # ruDALL-E: one_hot(ids).float() @ embed.weight, 'b (h w) c -> b c h w', post_quant_conv, decoder,
    # clamp to [-1, 1], (x + 1) * 0.5
    z = F.one_hot(ids, num_classes=tiny.n_embed).float() @ tiny.quantize.embed.weight
    z = z.reshape(2, 4, 4, tiny.embed_dim).permute(0, 3, 1, 2)
    with torch.no_grad():
        expected = (tiny.decoder(tiny.post_quant_conv(z)).clamp(-1.0, 1.0) + 1) * 0.5
    assert torch.equal(tiny.decode(ids), expected)  # the lookup is exact, not approximately equal


def test_decode_is_clamped_to_unit_interval():
    torch.manual_seed(0)
    model = build_vqgan(**get_vqgan_config("tiny"))
    with torch.no_grad():
        model.decoder.conv_out.weight.mul_(100.0)  # push the raw output far outside [-1, 1]
    out = model.decode(torch.arange(16).reshape(1, 16))
    assert out.min() == 0.0 and out.max() == 1.0
    assert ((out > 0) & (out < 1)).float().mean() < 0.5


def test_decode_of_encode_keeps_the_image_shape(tiny):
    for h, w in [(16, 16), (8, 8), (32, 32)]:
        x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(h))
        out = tiny.decode(tiny.encode(x))
        assert out.shape == x.shape
        assert 0 <= out.min() and out.max() <= 1


def test_bad_inputs_are_rejected(tiny):
    with pytest.raises(ValueError, match="multiples of 4"):
        tiny.encode(torch.rand(1, 3, 30, 32))
    with pytest.raises(ValueError, match=r"\(b, 3, H, W\)"):
        tiny.encode(torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match="square"):
        tiny.decode(torch.zeros(1, 12, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 64\)"):
        tiny.decode(torch.full((1, 16), 64))


# ---------------------------------------------------------------- building blocks vs taming's definitions


def test_attention_matches_taming_formula():
    torch.manual_seed(0)
    block = AttnBlock(32)
    x = torch.randn(2, 32, 4, 5)
    # taming AttnBlock.forward, written out: w = softmax(q^T k / sqrt(c)) over keys; h = v w^T
    y = block.norm(x)
    b, c, h, w = x.shape
    q = block.q(y).reshape(b, c, h * w).permute(0, 2, 1)
    k = block.k(y).reshape(b, c, h * w)
    weights = torch.softmax(torch.bmm(q, k) * c**-0.5, dim=2)
    v = block.v(y).reshape(b, c, h * w)
    expected = x + block.proj_out(torch.bmm(v, weights.permute(0, 2, 1)).reshape(b, c, h, w))
    assert torch.allclose(block(x), expected, atol=1e-5)


def test_downsample_pads_right_and_bottom_only():
    torch.manual_seed(0)
    down = Downsample(4)
    x = torch.randn(1, 4, 8, 8)
    base = down(x)
    assert base.shape == (1, 4, 4, 4)
    bumped = x.clone()
    bumped[:, :, 2, :] += 1.0  # input row 2 is seen by output rows 0 (rows 0-2) and 1 (rows 2-4)
    changed = (down(bumped) - base).abs().amax(dim=(0, 1, 3)) > 0
    assert changed.tolist() == [True, True, False, False]  # symmetric padding would give row 1 only
    bumped = x.clone()
    bumped[:, :, :, 7] += 1.0  # the last column is seen only by the last output column (cols 6, 7, pad)
    changed = (down(bumped) - base).abs().amax(dim=(0, 1, 2)) > 0
    assert changed.tolist() == [False, False, False, True]


def test_upsample_is_nearest_then_conv():
    up = Upsample(2)
    with torch.no_grad():  # make the conv an identity to expose the interpolation
        up.conv.weight.zero_()
        up.conv.bias.zero_()
        for ch in range(2):
            up.conv.weight[ch, ch, 1, 1] = 1.0
    x = torch.randn(1, 2, 3, 4)
    assert torch.equal(up(x), x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3))


def test_ddconfig_is_strict():
    ddconfig = get_vqgan_config("tiny")["ddconfig"]
    with pytest.raises(ValueError, match="double_z"):
        DDConfig(**{**ddconfig, "double_z": True})
    with pytest.raises(TypeError):
        DDConfig(**{**ddconfig, "ch_mul": (1, 2)})  # a typo is an error, not a default
    with pytest.raises(ValueError, match="embed_dim == z_channels"):
        build_vqgan(ddconfig, n_embed=64, embed_dim=16)


# ---------------------------------------------------------------- Sber state-dict layout (meta device)


@pytest.fixture(scope="module")
def sber_state():
    with torch.device("meta"):
        model = build_vqgan(**get_vqgan_config("sber-gumbelf8"))
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _count(keys, prefix):
    return sum(k.startswith(prefix) for k in keys)


def test_sber_state_dict_counts(sber_state):
    keys = sber_state.keys()
    # ResnetBlock: norm1 conv1 norm2 conv2 (weight, bias) = 8 entries, +2 with nin_shortcut;
    # AttnBlock: norm q k v proj_out = 10; down/upsample conv = 2.
    # encoder.down: 8 blocks (2 with shortcut: levels 2 and 3) + 2 attn (level 3) + 3 downsamples
    assert _count(keys, "encoder.down.") == 8 * 8 + 2 * 2 + 2 * 10 + 3 * 2 == 94
    # decoder.up: 12 blocks (2 with shortcut: block 0 of levels 2 and 1) + 3 attn (level 3) + 3 upsamples
    assert _count(keys, "decoder.up.") == 12 * 8 + 2 * 2 + 3 * 10 + 3 * 2 == 136
    assert _count(keys, "encoder.mid.") == _count(keys, "decoder.mid.") == 8 + 10 + 8
    assert _count(keys, "encoder.") == 2 + 94 + 26 + 4 == 126
    assert _count(keys, "decoder.") == 2 + 26 + 136 + 4 == 168
    assert len(keys) == 126 + 168 + 7 == 301
    assert {k.split(".")[0] for k in keys} == {"encoder", "decoder", "quant_conv", "post_quant_conv", "quantize"}
    assert not any("temb" in k or "conv_shortcut" in k for k in keys)


def test_sber_state_dict_representative_keys(sber_state):
    expected = {
        "encoder.conv_in.weight": (128, 3, 3, 3),
        "encoder.down.0.block.0.norm1.weight": (128,),
        "encoder.down.0.block.1.conv2.weight": (128, 128, 3, 3),
        "encoder.down.0.downsample.conv.weight": (128, 128, 3, 3),
        "encoder.down.2.block.0.conv1.weight": (256, 128, 3, 3),
        "encoder.down.2.block.0.nin_shortcut.weight": (256, 128, 1, 1),
        "encoder.down.2.downsample.conv.bias": (256,),
        "encoder.down.3.block.0.nin_shortcut.weight": (512, 256, 1, 1),
        "encoder.down.3.attn.1.proj_out.weight": (512, 512, 1, 1),
        "encoder.mid.attn_1.q.weight": (512, 512, 1, 1),
        "encoder.mid.block_2.norm2.bias": (512,),
        "encoder.norm_out.weight": (512,),
        "encoder.conv_out.weight": (256, 512, 3, 3),
        "decoder.conv_in.weight": (512, 256, 3, 3),
        "decoder.mid.block_1.conv1.weight": (512, 512, 3, 3),
        "decoder.up.3.block.2.conv2.weight": (512, 512, 3, 3),
        "decoder.up.3.attn.2.k.weight": (512, 512, 1, 1),
        "decoder.up.3.upsample.conv.weight": (512, 512, 3, 3),
        "decoder.up.2.block.0.conv1.weight": (256, 512, 3, 3),
        "decoder.up.2.block.0.nin_shortcut.weight": (256, 512, 1, 1),
        "decoder.up.1.block.0.nin_shortcut.weight": (128, 256, 1, 1),
        "decoder.up.1.upsample.conv.weight": (128, 128, 3, 3),
        "decoder.up.0.block.2.conv2.weight": (128, 128, 3, 3),
        "decoder.norm_out.bias": (128,),
        "decoder.conv_out.weight": (3, 128, 3, 3),
        "quant_conv.weight": (256, 256, 1, 1),
        "post_quant_conv.weight": (256, 256, 1, 1),
        "quantize.proj.weight": (8192, 256, 1, 1),
        "quantize.proj.bias": (8192,),
        "quantize.embed.weight": (8192, 256),
    }
    for key, shape in expected.items():
        assert sber_state.get(key) == shape, key
    absent = [
        "encoder.down.3.downsample.conv.weight",  # no downsample after the last level
        "decoder.up.0.upsample.conv.weight",  # no upsample after level 0
        "encoder.down.0.block.0.nin_shortcut.weight",  # no channel change
        "decoder.up.3.block.0.nin_shortcut.weight",
        "decoder.up.0.block.0.nin_shortcut.weight",
        "decoder.up.3.block.3.conv1.weight",  # num_res_blocks + 1 = 3 blocks
        "encoder.down.0.block.2.conv1.weight",  # num_res_blocks = 2 blocks
        "quantize.embedding.weight",  # VectorQuantizer's name, not GumbelQuantize's
    ]
    for key in absent:
        assert key not in sber_state, key


def test_sber_attention_only_at_resolution_32(sber_state):
    attn_norms = sorted(k for k in sber_state if k.endswith(".norm.weight"))
    assert attn_norms == sorted([
        "encoder.down.3.attn.0.norm.weight", "encoder.down.3.attn.1.norm.weight", "encoder.mid.attn_1.norm.weight",
        "decoder.mid.attn_1.norm.weight", "decoder.up.3.attn.0.norm.weight", "decoder.up.3.attn.1.norm.weight",
        "decoder.up.3.attn.2.norm.weight",
    ])
    n_params = sum(math.prod(s) for s in sber_state.values())
    assert n_params == 68_995_971  # pinned: any layer added or resized changes it
