"""The training loss against a hand computation: positions, labels, columns, weights, pads."""

import pytest
import torch
import torch.nn.functional as F

from solution.rudolph import get_config
from training.loss import label_ids, part_ranges, rudolph_loss
from training.tasks import TASK_TRAINING, with_task_weights

# l=5, m=2 (4 image tokens), r=4: S=13. V_text = 20 + 6 = 26, V_img = 10 + 2 = 12.
CONFIG = get_config(dict(num_layers=1, hidden_size=8, num_attention_heads=2, l_text_seq_length=5,
                         image_tokens_per_dim=2, r_text_seq_length=4, kernel_size=3, last_kernel_size=3,
                         text_special_tokens=6, image_special_tokens=2, vocab_size=20, image_vocab_size=10))
VT, VI = 26, 12
TASKS = ["TextQA", "ImageGeneration", "VisualQA"]
IDS = torch.tensor([
    # left (pad at 4)       image          right (pad at 3)
    [2, 21, 7, 3, 0,        0, 0, 0, 0,    2, 22, 3, 0],   # TextQA: zero image block
    [2, 23, 5, 3, 0,        4, 1, 7, 9,    0, 0, 0, 0],    # ImageGeneration: no right text
    [2, 24, 6, 8, 3,        3, 3, 2, 0,    2, 21, 11, 3],  # VisualQA
])
PAD4 = VT - 5 + 4  # the pad-position id of left position 4: 25

# (logit position, label) per part, written out by hand. "rudolph" layout: position t predicts token
# t + 1; the last left position (4) predicts the first image token on the image columns.
HAND_RUDOLPH = {
    "TextQA": {"left": [(0, 21), (1, 7), (2, 3), (3, PAD4)], "image": [(4, 0), (5, 0), (6, 0), (7, 0)],
               "right": [(9, 22), (10, 3)]},  # (11 -> pad) ignored
    "ImageGeneration": {"left": [(0, 23), (1, 5), (2, 3), (3, PAD4)], "image": [(4, 4), (5, 1), (6, 7), (7, 9)]},
    "VisualQA": {"left": [(0, 24), (1, 6), (2, 8), (3, 3)], "image": [(4, 3), (5, 3), (6, 2), (7, 0)],
                 "right": [(9, 21), (10, 11), (11, 3)]},
}
# "fbc2-reference" layout: position 4 predicts the first image id on the *text* columns; the image
# loss starts at position 5.
HAND_REFERENCE = {
    "TextQA": {"left": [(0, 21), (1, 7), (2, 3), (3, PAD4), (4, 0)], "image": [(5, 0), (6, 0), (7, 0)],
               "right": [(9, 22), (10, 3)]},
    "ImageGeneration": {"left": [(0, 23), (1, 5), (2, 3), (3, PAD4), (4, 4)], "image": [(5, 1), (6, 7), (7, 9)]},
    "VisualQA": {"left": [(0, 24), (1, 6), (2, 8), (3, 3), (4, 3)], "image": [(5, 3), (6, 2), (7, 0)],
                 "right": [(9, 21), (10, 11), (11, 3)]},
}
COLUMNS = {"left": (0, VT), "image": (VT, VT + VI), "right": (0, VT)}
WEIGHTS = {"TextQA": {"left": 1, "image": 0.01, "right": 7}, "ImageGeneration": {"left": 1, "image": 7},
           "VisualQA": {"left": 1, "image": 1, "right": 7}}


def hand_loss(logits, hand, task_weight=0.5):
    total, per_task = 0.0, {}
    for row, task in enumerate(TASKS):
        parts = {}
        for part, pairs in hand[task].items():
            lo, hi = COLUMNS[part]
            terms = [-torch.log_softmax(logits[row, t, lo:hi].double(), dim=0)[label] for t, label in pairs]
            parts[part] = sum(terms) / len(terms)
        w = WEIGHTS[task]
        per_task[task] = sum(w[p] * parts[p] for p in parts) / sum(w[p] for p in parts)
        total = total + task_weight * per_task[task]
    return total, per_task


@pytest.fixture
def logits():
    torch.manual_seed(1)
    return torch.randn(3, CONFIG.seq_length, VT + VI) * 3


@pytest.mark.parametrize("layout,hand", [("rudolph", HAND_RUDOLPH), ("fbc2-reference", HAND_REFERENCE)])
def test_loss_equals_hand_computation(logits, layout, hand):
    out = rudolph_loss(logits, IDS, TASKS, CONFIG, layout=layout)
    expected, per_task = hand_loss(logits, hand)
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)
    for task in TASKS:
        assert out.task_losses[task] == pytest.approx(per_task[task].item(), rel=1e-5)
    assert set(out.part_losses["ImageGeneration"]) == {"left", "image"}


def test_registry_weights_are_the_fbc2_ones():
    assert TASK_TRAINING["TextQA"].weights.right == 7 and TASK_TRAINING["TextQA"].weights.image == 0.01
    assert TASK_TRAINING["ImageGeneration"].weights.image == 7 and TASK_TRAINING["ImageGeneration"].rt_token is None
    assert TASK_TRAINING["TRitW"].weights.image == 1 and TASK_TRAINING["TRitW"].weights.right == 7
    assert all(t.task_weight == 0.5 for t in TASK_TRAINING.values())


def test_pad_position_labels_and_ignored_right_pads(logits):
    labels = label_ids(IDS, CONFIG)
    assert labels[0, :5].tolist() == [2, 21, 7, 3, PAD4]  # left pad -> V_text - l + i
    assert labels[0, 9:].tolist() == [2, 22, 3, 0]  # right pads stay 0
    base = rudolph_loss(logits, IDS, TASKS, CONFIG).loss.item()
    changed = logits.clone()
    changed[0, 11, :VT] += torch.randn(VT) * 5  # predicts the right pad of sample 0: ignored
    changed[1, 9:, :] += torch.randn(4, VT + VI) * 5  # right part of the generation sample: absent
    assert rudolph_loss(changed, IDS, TASKS, CONFIG).loss.item() == pytest.approx(base, rel=1e-6)
    changed[0, 3, PAD4] += 4.0  # predicts the pad-position id 25: part of the left loss
    assert rudolph_loss(changed, IDS, TASKS, CONFIG).loss.item() < base - 1e-3


def test_text_columns_exclude_image_columns(logits):
    """Raising an image column where a text token is expected changes nothing outside its softmax."""
    base = rudolph_loss(logits, IDS, TASKS, CONFIG)
    changed = logits.clone()
    changed[2, 10, VT:] += 10.0  # right position of VisualQA: image columns are not in the text softmax
    changed[2, 5, :VT] += 10.0  # image position: text columns are not in the image softmax
    assert rudolph_loss(changed, IDS, TASKS, CONFIG).loss.item() == pytest.approx(base.loss.item(), rel=1e-6)


def test_task_weight_override(logits):
    out = rudolph_loss(logits, IDS, TASKS, CONFIG)
    registry = with_task_weights({"VisualQA": 2.0})
    heavier = rudolph_loss(logits, IDS, TASKS, CONFIG, registry=registry)
    assert heavier.loss.item() == pytest.approx(out.loss.item() + 1.5 * out.task_losses["VisualQA"], rel=1e-5)


def test_fbc2_reference_layout_matches_the_reference_slicing(logits):
    """One VisualQA sub-batch scored the way the organisers' forward(return_loss=True) slices it."""
    ids = IDS[2:3]
    l, n, r = 5, 4, 4
    left = label_ids(ids, CONFIG)[:, :l]
    image, right = ids[:, l:l + n], ids[:, l + n:]
    lg = logits[2:3].transpose(1, 2).float()  # 'b n c -> b c n'
    labels = torch.cat((left[:, 1:], image, right), dim=1)
    loss_l = F.cross_entropy(lg[:, :VT, :l], labels[:, :l])
    loss_i = F.cross_entropy(lg[:, VT:, l:l + n - 1], labels[:, l:l + n - 1])
    loss_r = F.cross_entropy(lg[:, :VT, -r:-1], labels[:, -(r - 1):], ignore_index=0)
    reference = (1 * loss_l + 1 * loss_i + 7 * loss_r) / 9
    registry = with_task_weights({"VisualQA": 1.0})
    out = rudolph_loss(logits[2:3], ids, ["VisualQA"], CONFIG, registry=registry, layout="fbc2-reference")
    assert out.loss.item() == pytest.approx(reference.item(), rel=1e-5)


def test_part_ranges_cover_every_prediction_once():
    for layout in ("rudolph", "fbc2-reference"):
        ranges = part_ranges(CONFIG, layout)
        covered = [t for start, end in ranges.values() for t in range(start, end)]
        # every position predicts something except the last image position (-> bos) and the last token
        assert sorted(covered) == [t for t in range(CONFIG.seq_length - 1) if t != 8]
