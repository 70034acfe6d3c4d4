"""The self-reranking scores: ru-dolph's normalisation and weights on values worked out by hand, and
score_image_tokens against teacher forcing through the cached decoder."""

import math

import pytest
import torch

from solution.candidates import best_answers, best_images, image_scores, normalised, perplexity
from solution.rudolph import build_model, get_config
from solution.rudolph.generation import CachedDecoder, score_image_tokens


def test_normalised_by_minimum_and_median():
    # min 2, median 3: (x - 2) / 1; a median equal to the minimum leaves the differences
    assert normalised(torch.tensor([[2.0, 4.0, 3.0], [10.0, 10.0, 30.0]])).tolist() == [[0, 2, 1], [0, 0, 20]]
    # four values: the median interpolates (2.5 between 2 and 3), as torch.quantile and ru-dolph
    assert normalised(torch.tensor([1.0, 2.0, 3.0, 5.0])).tolist() == pytest.approx([0, 2 / 3, 4 / 3, 8 / 3])


def test_caption_weighs_095_and_the_image_005():
    caption, image = torch.tensor([[4.0, 2.0, 3.0]]), torch.tensor([[1.0, 3.0, 2.0]])
    # caption normalised [2, 0, 1], image [0, 2, 1]: 0.95 x ... + 0.05 x ...
    assert image_scores(caption, image)[0].tolist() == pytest.approx([1.9, 0.1, 1.0])
    assert best_images(caption, image).tolist() == [1]
    # the image term alone decides only between equal captions
    assert best_images(torch.tensor([[3.0, 3.0, 5.0]]), torch.tensor([[2.0, 1.0, 3.0]])).tolist() == [1]


def test_ties_go_to_candidate_zero():
    assert best_images(torch.ones(2, 4), torch.ones(2, 4)).tolist() == [0, 0]
    assert best_answers(torch.tensor([[-1.0, -0.5, -0.5], [-0.2, -0.2, -0.3]])).tolist() == [1, 0]


def test_perplexity_is_exp_of_the_mean_negative_log_likelihood():
    assert perplexity(torch.tensor([-6.0]), torch.tensor([3])).item() == pytest.approx(math.exp(2.0))
    assert perplexity(torch.tensor([0.0]), torch.tensor([0])).item() == 1.0  # nothing scored


def test_score_image_tokens_is_teacher_forcing():
    torch.manual_seed(0)
    model = build_model(get_config("tiny")).eval()
    c = model.config
    left = torch.randint(1, c.text_vocab - c.l_text_seq_length, (3, c.l_text_seq_length))
    image = torch.randint(0, c.image_vocab_size, (3, c.image_seq_length))
    total, count = score_image_tokens(model, left, image)
    assert count.tolist() == [c.image_seq_length] * 3
    lo, hi = c.text_vocab, c.text_vocab + c.image_vocab_size
    decoder = CachedDecoder(model)
    expected = torch.zeros(3)
    with torch.no_grad():
        logits = decoder.start(left)
        for t in range(c.image_seq_length):
            expected += logits[:, lo:hi].float().log_softmax(-1).gather(-1, image[:, t:t + 1]).squeeze(-1)
            if t < c.image_seq_length - 1:
                logits = decoder.push(image[:, t])
    assert torch.allclose(total, expected, atol=1e-4)
