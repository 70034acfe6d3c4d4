"""Synonym look-ups for METEOR's third alignment stage from a local RuWordNet SQLite database.

The database is the one `python -m ruwordnet download` fetches (`ruwordnet.db`, 2021 release); we only read it
with the standard library. Tables used (layout of that package's SQLAlchemy models):

- `sense(id, name, lemma, synset_id)`: `lemma` is the upper-case word form looked up;
- `synset(id, title, ...)`: `title` is the RuThes concept name;
- `hypernym_relation(hyponym_id, hypernym_id)`: between synsets;
- `derivation_relation(source_id, derivative_id)`: between senses.

As the official scorer does, a hypothesis word's "synonyms" are the lower-cased titles of the
hypernym synsets of every sense of the word, the lower-cased names of the senses derived from
those senses, and the word itself.
"""

from __future__ import annotations

import os
import sqlite3

from evaluator.errors import WeightsUnavailable

REQUIRED_TABLES = ("sense", "synset", "hypernym_relation", "derivation_relation")


class RuWordNetSynonyms:
    """Read-only synonym source over a RuWordNet SQLite file (raises WeightsUnavailable if absent)."""

    def __init__(self, db_path: str):
        if not db_path or not os.path.isfile(db_path):
            raise WeightsUnavailable(f"RuWordNet database not found: {db_path!r}")
        self.path = db_path
        try:
            self._db = sqlite3.connect(f"file:{os.path.abspath(db_path)}?mode=ro", uri=True)
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as error:
            raise WeightsUnavailable(f"{db_path} is not a readable SQLite database: {error}") from None
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise WeightsUnavailable(f"{db_path} is not a RuWordNet database (missing tables: {', '.join(missing)})")
        self._cache: dict[str, frozenset[str]] = {}

    def synonyms(self, word: str) -> frozenset[str]:
        """Hypernym titles and derivations of `word`'s senses, plus `word`; empty if unknown."""
        if word in self._cache:
            return self._cache[word]
        senses = self._db.execute("SELECT id, synset_id FROM sense WHERE lemma = ?", (word.upper().strip(),)).fetchall()
        result: frozenset[str] = frozenset()
        if senses:
            sense_ids = [s[0] for s in senses]
            synset_ids = [s[1] for s in senses if s[1] is not None]
            names = {word}
            if synset_ids:
                names |= self._names("SELECT s.title FROM hypernym_relation h JOIN synset s ON s.id = h.hypernym_id "
                                     "WHERE h.hyponym_id IN ({})", synset_ids)
            names |= self._names("SELECT d.name FROM derivation_relation r JOIN sense d ON d.id = r.derivative_id "
                                 "WHERE r.source_id IN ({})", sense_ids)
            result = frozenset(names)
        self._cache[word] = result
        return result

    def _names(self, query: str, ids: list) -> set[str]:
        """The lower-cased, non-empty names ``query`` (one ``IN ({})`` of ``ids``) returns."""
        rows = self._db.execute(query.format(",".join("?" * len(ids))), ids)
        return {row[0].lower() for row in rows if row[0]}

    def close(self) -> None:
        self._db.close()
