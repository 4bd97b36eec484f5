"""Finding many candidates in a common term's posting list by bit rank, not binary search.

Scoring looks each candidate up in each term's sorted list of documents, for its term
frequency. A binary search costs a few cache misses a step in a list of hundreds of
thousands, and a query of common words reads a dozen such lists for ten thousand candidates.
`DocRanks` answers the same question from a bit per document: whether the list holds it,
and how many listed documents come before it (popcount within a 64-bit word, plus a count per
word), which is its place in the list. For a list holding a sixteenth of the documents or
more it takes less memory than the list itself (an eighth of a byte a document, plus 4 bytes
every 64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from search.execute.docsets import term_postings
from search.index.caches import caches_of, generation

RANKED_SHARE = 16  # lists holding at least 1/RANKED_SHARE of the documents are ranked
# Building costs about as much as two binary searches of this many candidates: passes this
# big build what they lack, smaller ones use what is built.
MIN_BUILDING_CANDIDATES = 1000

_ONE = np.uint64(1)
_WORD_BITS = np.uint64(6)
_BIT = np.uint64(63)


@dataclass(frozen=True)
class DocRanks:
    """A sorted list of document numbers as bits: `words[d // 64]` has bit `d % 64` set when
    the list holds d; `before[w]` is how many listed documents precede word w."""

    words: npt.NDArray[np.uint64]
    before: npt.NDArray[np.int32]

    @classmethod
    def of(cls, ids: npt.NDArray[Any], doc_count: int) -> DocRanks:
        """The ranks of a sorted list of distinct document numbers below doc_count."""
        held = np.zeros(-(-doc_count // 64) * 64, dtype=np.bool_)
        held[ids] = True
        words = np.packbits(held, bitorder="little").view(np.uint64)
        before = np.zeros(len(words), dtype=np.int32)
        np.cumsum(np.bitwise_count(words[:-1]), out=before[1:])
        return cls(words, before)

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes + self.before.nbytes)

    def locate(self, docs: npt.NDArray[np.int64]) -> tuple[Any, Any]:
        """For sorted candidates: the indices of those the list holds, and their places in
        the list (search.execute.scoring's `_present`, the same two arrays)."""
        numbers = docs.astype(np.uint64)
        word_at = (numbers >> _WORD_BITS).astype(np.intp)
        bit = numbers & _BIT
        words = self.words[word_at]
        where = np.flatnonzero((words >> bit) & _ONE)
        below = words[where] & ((_ONE << bit[where]) - _ONE)
        places = self.before[word_at[where]] + np.bitwise_count(below)
        return where, places.astype(np.intp)


def term_ranks(searcher: Searcher, fieldname: str, text: str, candidates: int) -> DocRanks | None:
    """The term's DocRanks (cached per index generation), when its list is common enough to
    be ranked; built only for a pass of MIN_BUILDING_CANDIDATES candidates or more."""
    cache = caches_of(searcher).doc_ranks
    key = (generation(searcher), fieldname, text)
    ranks: DocRanks | None = cache.get(key)
    if ranks is not None or candidates < MIN_BUILDING_CANDIDATES:
        return ranks
    ids, _ = term_postings(searcher, fieldname, text)
    doc_count = searcher.doc_count_all()
    if len(ids) * RANKED_SHARE < doc_count:
        return None
    ranks = DocRanks.of(ids, doc_count)
    cache.put(key, ranks)
    return ranks
