"""youtokentome's BPE at run time, in pure Python: the model file, encoding and decoding.

Gives exactly the ids and texts of youtokentome 1.0.6 (``yttm.BPE(path).encode(texts,
output_type=ID)`` with no bos/eos/dropout/reverse, and ``.decode(ids, ignore_ids)``); the parity
tests check this against the library. Training a BPE still needs youtokentome (``train_bpe``).

Model file: whitespace-separated integers, one record a line:
``n m`` / n lines ``codepoint id`` / m lines ``x y z`` (tokens x, y merge into z; earlier lines
merge first) / ``unk pad bos eos`` (-1 where absent). Unlike the library, a missing, truncated or
malformed file is refused with the file and line named.

Encoding a text: words are the maximal runs of characters that are not separators (tab, newline,
vertical tab, form feed, carriage return, space, U+2581; not Python's ``str.split`` rule). Each word
is ``▁`` followed by its characters, a run of characters missing from the model being one symbol
that never merges and comes out as the unk id. Then the adjacent pair with the earliest rule is
merged, the leftmost one among equals, until no rule applies; a pair listed twice uses its later
rule. Quirk kept for parity: a word whose first token has id 0 loses that token (only possible
when id 0 is not a special id, e.g. a model trained with ``pad_id=-1``).

Decoding: each id's spelling with a leading ``▁`` shown as a space, special ids as ``<UNK>``,
``<PAD>``, ``<BOS>``, ``<EOS>``, ids in ``ignore_ids`` skipped, and one leading space removed
from the first piece.
"""

from __future__ import annotations

import heapq
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

WORD_START = "\u2581"
SEPARATORS = "\t\n\v\f\r \u2581"
_WORD = re.compile("[^" + re.escape(SEPARATORS) + "]+")
_SURROGATE = re.compile("[\ud800-\udfff]")

SPECIAL_NAMES = ("unk", "pad", "bos", "eos")  # the order of the file's last line
SPECIAL_TEXTS = {"unk": "<UNK>", "pad": "<PAD>", "bos": "<BOS>", "eos": "<EOS>"}
MAX_CODEPOINT = 0x10FFFF
DEFAULT_CACHE_WORDS = 100_000  # the word cache is emptied when full
MAX_CACHED_WORD_CHARS = 100


class BPEModelError(ValueError):
    """A BPE model file that cannot be read: truncated, malformed or inconsistent."""


@dataclass(frozen=True)
class SpecialIds:
    unk: int
    pad: int
    bos: int
    eos: int

    def present(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in SPECIAL_NAMES if getattr(self, name) != -1}


def without_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (a JSON ``"\\ud800"`` escape makes one; youtokentome
    raises on it) replaced by U+FFFD, and one warning naming them."""
    found = _SURROGATE.findall(text)
    if not found:
        return text
    codes = ", ".join(sorted({f"U+{ord(c):04X}" for c in found}))
    warnings.warn(f"replaced {len(found)} lone surrogate(s) ({codes}) with U+FFFD before BPE encoding in the text "
                  f"{text[:60]!r}", stacklevel=2)
    return _SURROGATE.sub("\ufffd", text)


def _space_for_word_start(text: str) -> str:
    return " " + text[1:] if text.startswith(WORD_START) else text


class _LineReader:
    """The model file's records, each a line of integers, with errors that name the file and line."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.lines = path.read_text(encoding="ascii").splitlines()
        except UnicodeDecodeError as e:
            raise BPEModelError(f"{path}: not a youtokentome BPE model (a byte that is not ASCII at offset "
                                f"{e.start})") from None
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()
        self.next_line = 0

    def error(self, line_no: int, message: str) -> BPEModelError:
        return BPEModelError(f"{self.path}, line {line_no}: {message}")

    def record(self, what: str, size: int) -> tuple[int, list[int]]:
        """The next line as ``size`` integers, and its 1-based number."""
        line_no = self.next_line + 1
        if self.next_line >= len(self.lines):
            raise self.error(line_no, f"the file ends where {what} was expected (truncated model?)")
        fields = self.lines[self.next_line].split()
        self.next_line += 1
        try:
            values = [int(f) for f in fields]
        except ValueError:
            raise self.error(line_no, f"expected {what} ({size} integers), got {self.lines[line_no - 1]!r}") from None
        if len(values) != size:
            raise self.error(line_no, f"expected {what} ({size} integers), got {len(values)} fields")
        return line_no, values

    def check_end(self) -> None:
        if self.next_line < len(self.lines):
            raise self.error(self.next_line + 1, "unexpected data after the special ids line")


class BPE:
    """A youtokentome BPE model: ``encode(text)`` ids, ``decode(ids)`` text (module doc for the rules)."""

    def __init__(self, chars: dict[str, int], rules: list[tuple[int, int, int]], special: SpecialIds,
                 cache_words: int = DEFAULT_CACHE_WORDS, source: str = "BPE model"):
        """``chars``: character -> id; ``rules``: (x, y, z) in priority order. Checked for consistency."""
        self.chars = dict(chars)
        self.rules = list(rules)
        self.special = special
        self.vocab_size = len(self.chars) + len(self.rules) + len(special.present())
        self.cache_words = cache_words
        self._cache: dict[str, list[int]] = {}
        self._spelling = self._spell(source)
        if WORD_START not in self.chars:
            raise BPEModelError(f"{source}: the model lacks the word-start character U+2581")
        self._word_start = self.chars[WORD_START]
        self._merge_by_pair = {(x, y): (rank, z) for rank, (x, y, z) in enumerate(self.rules)}
        special_ids = set(special.present().values())
        self._decoded = [text if i in special_ids else _space_for_word_start(text) for i, text in enumerate(self._spelling)]

    def _spell(self, source: str) -> list[str]:
        """Every id's spelling (specials: their texts); the ids must be exactly 0 .. vocab_size - 1.
        Errors name the line of the model file that holds the faulty record."""
        spelling: list[str | None] = [None] * self.vocab_size
        n_chars, n_rules = len(self.chars), len(self.rules)

        def claim(token_id: int, text: str, line: int, what: str) -> None:
            if not 0 <= token_id < self.vocab_size:
                raise BPEModelError(f"{source}, line {line}: {what} has id {token_id}, outside 0..{self.vocab_size - 1} "
                                    f"(the ids of {n_chars} characters, {n_rules} rules and the special ids)")
            if spelling[token_id] is not None:
                raise BPEModelError(f"{source}, line {line}: {what} has id {token_id}, which is given twice")
            spelling[token_id] = text

        special_ids = set(self.special.present().values())
        for name, token_id in self.special.present().items():
            claim(token_id, SPECIAL_TEXTS[name], n_chars + n_rules + 2, f"special token {name}")
        for i, (ch, token_id) in enumerate(self.chars.items()):
            claim(token_id, ch, i + 2, f"character U+{ord(ch):04X}")
        for rank, (x, y, z) in enumerate(self.rules):
            line = n_chars + rank + 2
            for part in (x, y):
                if not 0 <= part < self.vocab_size or spelling[part] is None or part in special_ids:
                    raise BPEModelError(f"{source}, line {line}: merge rule {rank} ({x} {y} {z}) uses id {part}, which "
                                        "is not a character or the result of an earlier rule")
            claim(z, spelling[x] + spelling[y], line, f"merge rule {rank} ({x} {y} {z})")
        return spelling

    @classmethod
    def load(cls, path: str | Path, cache_words: int = DEFAULT_CACHE_WORDS) -> BPE:
        """Read a youtokentome model file; ``BPEModelError`` names the file and line of any problem."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"BPE model not found: {path}")
        reader = _LineReader(path)
        line_no, (n_chars, n_rules) = reader.record("the header 'characters rules'", 2)
        if n_chars < 1 or n_rules < 0:
            raise reader.error(line_no, f"bad counts {n_chars} characters, {n_rules} rules")
        chars: dict[str, int] = {}
        for _ in range(n_chars):
            line_no, (codepoint, token_id) = reader.record("a character line 'codepoint id'", 2)
            if not 0 <= codepoint <= MAX_CODEPOINT or 0xD800 <= codepoint <= 0xDFFF:
                raise reader.error(line_no, f"{codepoint} is not a Unicode scalar value")
            if chr(codepoint) in chars:
                raise reader.error(line_no, f"character U+{codepoint:04X} is listed twice")
            chars[chr(codepoint)] = token_id
        rules = [tuple(reader.record("a merge rule line 'x y z'", 3)[1]) for _ in range(n_rules)]
        line_no, specials = reader.record("the special ids line 'unk pad bos eos'", 4)
        if any(s < -1 for s in specials):
            raise reader.error(line_no, f"special ids must be -1 or ids, got {specials}")
        reader.check_end()
        return cls(chars, rules, SpecialIds(*specials), cache_words=cache_words, source=str(path))

    # ------------------------------------------------------------------------------------------ encode

    def encode(self, text: str) -> list[int]:
        """youtokentome's ids of ``text``; a lone surrogate raises ValueError as the library does."""
        ids: list[int] = []
        cache = self._cache
        for word in _WORD.findall(text):
            word_ids = cache.get(word)
            if word_ids is None:
                word_ids = self._encode_word(word)
                if len(word) <= MAX_CACHED_WORD_CHARS:
                    if len(cache) >= self.cache_words:
                        cache.clear()
                    cache[word] = word_ids
            ids += word_ids
        return ids

    def _encode_word(self, word: str) -> list[int]:
        found = _SURROGATE.search(word)
        if found:
            raise ValueError(f"cannot encode a lone surrogate U+{ord(found.group()):04X} at position "
                             f"{found.start()} of the word {word[:40]!r}")
        chars, unk = self.chars, self.special.unk
        symbols = [self._word_start]
        in_unknown_run = False
        for ch in word:
            token_id = chars.get(ch)
            if token_id is not None:
                symbols.append(token_id)
            elif not in_unknown_run:
                symbols.append(unk)  # a run of unknown characters is one symbol; unk is in no rule
            in_unknown_run = token_id is None
        symbols = self._merge(symbols)
        return symbols[1:] if symbols[0] == 0 else symbols

    def _merge(self, symbols: list[int]) -> list[int]:
        """Merge the earliest rule's leftmost pair until none applies: a heap of (rank, position)
        with stale entries skipped, over a linked list, so long words stay n log n."""
        merge_by_pair, rules = self._merge_by_pair, self.rules
        n = len(symbols)
        heap = []
        for i in range(n - 1):
            found = merge_by_pair.get((symbols[i], symbols[i + 1]))
            if found is not None:
                heap.append((found[0], i))
        if not heap:
            return symbols
        heapq.heapify(heap)
        nxt = list(range(1, n + 1))
        nxt[-1] = -1
        prv = list(range(-1, n - 1))
        alive = symbols[:]
        while heap:
            rank, i = heapq.heappop(heap)
            x, y, z = rules[rank]
            j = nxt[i]
            if j == -1 or alive[i] != x or alive[j] != y:
                continue
            alive[i], alive[j] = z, None
            k = nxt[j]
            nxt[i], nxt[j] = k, -1
            if k != -1:
                prv[k] = i
                found = merge_by_pair.get((z, alive[k]))
                if found is not None:
                    heapq.heappush(heap, (found[0], i))
            p = prv[i]
            if p != -1:
                found = merge_by_pair.get((alive[p], z))
                if found is not None:
                    heapq.heappush(heap, (found[0], p))
        return [s for s in alive if s is not None]

    # ------------------------------------------------------------------------------------------ decode

    def decode(self, ids: Iterable[int], ignore_ids: Iterable[int] = ()) -> str:
        """youtokentome's text of ``ids``; an id outside 0..vocab_size-1 that is not ignored raises ValueError."""
        ignore = set(ignore_ids)
        decoded, size = self._decoded, self.vocab_size
        pieces = []
        for token_id in ids:
            if token_id in ignore:
                continue
            if not 0 <= token_id < size:
                self.id_to_subword(token_id)  # raises youtokentome's error
            piece = decoded[token_id]
            if not pieces and piece.startswith(" "):
                piece = piece[1:]
            pieces.append(piece)
        return "".join(pieces)

    def id_to_subword(self, token_id: int) -> str:
        """youtokentome's ``id_to_subword``: the spelling of ``token_id`` (``▁`` kept; specials ``<UNK>`` ...)."""
        if not 0 <= token_id < self.vocab_size:
            raise ValueError(f"id must be in the range [0, vocab_size - 1]: vocab_size = {self.vocab_size}, id = {token_id}")
        return self._spelling[token_id]
