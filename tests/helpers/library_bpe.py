"""youtokentome itself behind the interface of ``solution.rudolph.bpe.BPE`` (``load``, ``encode``,
``decode``, ``vocab_size``), to run the project with the library's tokenization as a baseline."""

import youtokentome as yttm


class LibraryBPE:
    def __init__(self, path):
        self.model = yttm.BPE(str(path))
        self.vocab_size = self.model.vocab_size()

    @classmethod
    def load(cls, path, cache_words=None):
        return cls(path)

    def encode(self, text: str) -> list[int]:
        return self.model.encode([text], output_type=yttm.OutputType.ID)[0]

    def decode(self, ids, ignore_ids=()) -> str:
        return self.model.decode([list(ids)], ignore_ids=list(ignore_ids) or None)[0]


def use_youtokentome() -> None:
    """Make every ``Tokenizer`` made from now on tokenize with youtokentome."""
    import solution.rudolph.tokenizer

    solution.rudolph.tokenizer.BPE = LibraryBPE
