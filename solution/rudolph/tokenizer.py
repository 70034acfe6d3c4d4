"""The ruDALL-E/RUDOLPH text tokenizer: a youtokentome BPE model plus task special tokens.

The BPE is read and applied by ``solution.rudolph.bpe`` (pure Python, youtokentome's exact ids);
youtokentome itself is only imported to train a BPE (``train_bpe``). A lone surrogate in a text
(a JSON ``"\ud800"`` escape) is replaced by U+FFFD with a warning instead of failing the sample.

Conventions (spec section 2): pad 0, unk 1, bos 2, eos 3; the special task tokens take the ids
right after the BPE vocabulary (16384 for the published ``bpe.model``). A text part is encoded as
``[bos, SPECIAL, *tokens, eos]`` after lower-casing and stripping, right-padded with 0.

Truncation rule (deliberate, the reference silently drops the end and the eos): when the BPE
tokens do not fit, keep ``head`` tokens from the start and fill the rest from the end, then close
with eos. For the left text ``head`` is a quarter of the room, so the instruction's start and the
question with its options at the end survive and the middle of a long passage is cut; a right
text keeps its start (``head`` = all the room).
"""

from __future__ import annotations

from pathlib import Path

import torch

from .bpe import BPE, without_lone_surrogates

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

SPECIAL_TOKENS = ("<LT_UNK>", "<RT_UNK>", "<LT_T2I>", "<LT_I2T>", "<LT_T2T>", "<RT_I2T>", "<LT_TQA>", "<RT_TQA>",
                  "<LT_MQA>", "<RT_MQA>", "<LT_VQA>", "<RT_VQA>", "<LT_CAP>", "<RT_CAP>", "<LT_GEN>", "<LT_REC>",
                  "<RT_REC>")


def truncate(tokens: list[int], room: int, head: int) -> list[int]:
    """At most ``room`` tokens: the first ``min(head, room)`` and then the last ones."""
    if len(tokens) <= room:
        return tokens
    head = min(head, room)
    tail = room - head
    return tokens[:head] + (tokens[len(tokens) - tail:] if tail else [])


class Tokenizer:
    def __init__(self, bpe_path: str | Path):
        self.bpe = BPE.load(bpe_path)
        self.bpe_vocab_size = self.bpe.vocab_size
        self.special_ids = {name: self.bpe_vocab_size + i for i, name in enumerate(SPECIAL_TOKENS)}

    def special(self, name: str) -> int:
        try:
            return self.special_ids[name]
        except KeyError:
            raise ValueError(f"unknown special token {name!r}; expected one of {SPECIAL_TOKENS}") from None

    def bpe_encode(self, text: str) -> list[int]:
        return self.bpe.encode(without_lone_surrogates(text.lower().strip()))

    def encode(self, text: str, length: int, special: str, head: int | None = None) -> torch.Tensor:
        """``(length,)`` ids ``[bos, special, *tokens, eos, 0...]``; see the module doc for truncation.

        ``head`` defaults to a quarter of the room (left-text rule); pass ``head=length`` to keep
        the start (right-text rule).
        """
        room = length - 3
        if room < 0:
            raise ValueError(f"length {length} cannot hold bos, a special token and eos")
        tokens = truncate(self.bpe_encode(text), room, room // 4 if head is None else head)
        ids = [BOS_ID, self.special(special), *tokens, EOS_ID]
        return torch.tensor(ids + [PAD_ID] * (length - len(ids)), dtype=torch.long)

    def encode_left(self, text: str, length: int, special: str = "<LT_UNK>") -> torch.Tensor:
        return self.encode(text, length, special)

    def encode_right(self, text: str, length: int, special: str = "<RT_UNK>") -> torch.Tensor:
        return self.encode(text, length, special, head=length)

    def right_prefix(self, special: str = "<RT_UNK>") -> torch.Tensor:
        """The given start of every right text: ``[bos, special]``."""
        return torch.tensor([BOS_ID, self.special(special)], dtype=torch.long)

    def decode(self, ids) -> str:
        """Text of ``ids`` without pad, unk, bos, eos and special/pad-position ids; stops at eos."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        kept = []
        for i in ids:
            if i == EOS_ID:
                break
            if i > EOS_ID and i < self.bpe_vocab_size:
                kept.append(i)
        return self.bpe.decode(kept)


def train_bpe(texts: list[str], out_path: str | Path, vocab_size: int) -> Path:
    """Train a youtokentome BPE model with the ruDALL-E id conventions (for tests and demos)."""
    import tempfile

    import youtokentome as yttm

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write("\n".join(t.lower().strip() for t in texts))
        data_path = f.name
    try:
        yttm.BPE.train(data=data_path, model=str(out_path), vocab_size=vocab_size, coverage=1.0,
                       pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID)
    finally:
        Path(data_path).unlink(missing_ok=True)
    return out_path
