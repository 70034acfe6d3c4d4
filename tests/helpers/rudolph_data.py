"""Random RUDOLPH sequences for tests."""

import torch


def random_sequence(config, batch: int, seed: int = 0) -> torch.Tensor:
    """A full random sequence: left text with trailing pads, image ids, right text with pads."""
    g = torch.Generator().manual_seed(seed)
    c = config
    left = torch.randint(4, c.vocab_size, (batch, c.l_text_seq_length), generator=g)
    left[:, c.l_text_seq_length // 2:] = 0  # padding, exercises the left padding trick
    image = torch.randint(0, c.image_vocab_size, (batch, c.image_seq_length), generator=g)
    right = torch.randint(4, c.vocab_size, (batch, c.r_text_seq_length), generator=g)
    right[:, -3:] = 0
    return torch.cat([left, image, right], dim=1)
