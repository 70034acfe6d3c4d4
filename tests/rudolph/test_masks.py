import pytest
import torch
from helpers.rudolph_reference import loop_masks

from solution.rudolph import RudolphConfig, build_mask, layer_mask_kind

# A 3x3 image grid between three left and three right text tokens (S = 3 + 9 + 3).
GRID = RudolphConfig(num_layers=4, hidden_size=8, num_attention_heads=2, l_text_seq_length=3, image_tokens_per_dim=3,
                     r_text_seq_length=3, kernel_size=3, last_kernel_size=5, text_special_tokens=0,
                     image_special_tokens=0, vocab_size=16)

# Visibility inside the image block, worked out by hand: row q lists the image keys query q sees.
ROW = ["100000000", "110000000", "111000000", "111100000", "011110000",
       "001111000", "000111100", "000011110", "000001111"]  # offsets 0..3 back
COL = ["100000000", "010000000", "001000000", "100100000", "010010000",
       "001001000", "100100100", "010010010", "001001001"]  # same column only
CONV3 = ["100000000",  # (0,0)
         "110000000",  # (0,1): (0,0)
         "011000000",  # (0,2): (0,1); (0,0) is two columns away
         "110100000",  # (1,0): (0,0) (0,1)
         "111110000",  # (1,1): the whole first row and (1,0)
         "011011000",  # (1,2): (0,1) (0,2) (1,1)
         "000110100",  # (2,0): (1,0) (1,1)
         "000111110",  # (2,1): row 1 and (2,0)
         "000011011"]  # (2,2): (1,1) (1,2) (2,1)


def table(rows):
    return torch.tensor([[c == "1" for c in row] for row in rows])


@pytest.mark.parametrize("kind,expected", [("row_mask", ROW), ("col_mask", COL), ("conv_mask", CONV3)])
def test_image_block_by_hand(kind, expected):
    mask = build_mask(kind, GRID)
    l, n = GRID.l_text_seq_length, GRID.image_seq_length
    assert torch.equal(mask[l:l + n, l:l + n], table(expected))


def test_conv5_on_3x3_grid_sees_every_earlier_cell():
    # A 5x5 window clamped at the border of a 3x3 grid covers the whole grid: plain causal.
    mask = build_mask("last_conv_mask", GRID)
    assert torch.equal(mask, torch.ones_like(mask).tril())


@pytest.mark.parametrize("kind", ["row_mask", "col_mask", "conv_mask", "last_conv_mask"])
def test_text_is_never_thinned(kind):
    mask = build_mask(kind, GRID)
    causal = torch.ones_like(mask).tril()
    l, n = GRID.l_text_seq_length, GRID.image_seq_length
    assert torch.equal(mask[:, :l], causal[:, :l])  # everybody sees earlier left text
    assert torch.equal(mask[:l], causal[:l])  # left text is plain causal
    assert torch.equal(mask[l + n:], causal[l + n:])  # right text sees everything before it


def test_layer_schedule():
    assert [layer_mask_kind(i, 8) for i in range(8)] == [
        "row_mask", "col_mask", "row_mask", "conv_mask", "row_mask", "col_mask", "row_mask", "last_conv_mask"]
    kinds = [layer_mask_kind(i, 32) for i in range(32)]
    assert kinds[:4] == ["row_mask", "col_mask", "row_mask", "conv_mask"]
    assert kinds[29] == "col_mask" and kinds[30] == "row_mask" and kinds[31] == "last_conv_mask"
    assert kinds.count("conv_mask") == 7 and kinds.count("col_mask") == 8
    # When the last layer falls on a column slot, column wins (it is checked first).
    assert layer_mask_kind(5, 6) == "col_mask"


@pytest.mark.parametrize("l,m,r,kernel,last", [(4, 4, 3, 3, 5), (2, 5, 2, 3, 5), (3, 6, 4, 5, 7), (1, 7, 2, 7, 9)])
def test_equal_to_loop_built_reference_masks(l, m, r, kernel, last):
    config = RudolphConfig(num_layers=4, hidden_size=8, num_attention_heads=2, l_text_seq_length=max(l, 3),
                           image_tokens_per_dim=m, r_text_seq_length=max(r, 3), kernel_size=kernel,
                           last_kernel_size=last, text_special_tokens=0, image_special_tokens=0, vocab_size=16)
    reference = loop_masks(config.l_text_seq_length, m, config.r_text_seq_length, kernel, last)
    for kind, expected in reference.items():
        assert torch.equal(build_mask(kind, config), expected.bool()), kind
