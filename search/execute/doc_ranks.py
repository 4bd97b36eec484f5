"""Where scoring's candidates sit in a term's posting list: binary search, or bit rank.

Scoring looks each candidate up in each term's sorted list of documents, for its term
frequency. A binary search costs a few cache misses a step in a list of hundreds of
thousands, and a query of common words reads a dozen such lists for ten thousand candidates.
`DocRanks` answers the same question from a bit per document: whether the list holds it,
and how many listed documents come before it (popcount within a 64-bit word, plus a count per
word), which is its place in the list. For a list holding a sixteenth of the documents or
more it takes less memory than the list itself (an eighth of a byte a document, plus 4 bytes
every 64).

Ranks are kept per segment, like the segment's postings (search.index.segment_postings), so
that a commit adding a small segment leaves the big segment's ranks in place; a term's list
over the whole index is its segments' lists one after the other, so a candidate's place in
it is its place in its segment's list plus the lengths of the segments' lists before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from search.index.caches import IndexCaches, caches_of
from search.index.segment_postings import DocIds, Weights, segment_postings, segment_weights
from search.index.term_infos import segment_term_key

RANKED_SHARE = 16  # lists holding at least 1/RANKED_SHARE of a segment's documents are ranked
MIN_RANKED_DOCS = 10_000  # smaller segments are searched as they are (and merged away soon)
# Building costs about as much as two binary searches of this many candidates: passes this
# big build what they lack, smaller ones use what is built.
MIN_BUILDING_CANDIDATES = 1000

Located = tuple[Any, Any]  # (indices of the candidates the list holds, their places in it)

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

    def locate(self, docs: npt.NDArray[np.int64]) -> Located:
        """For sorted candidates: the indices of those the list holds, and their places in
        the list (what a binary search of the list finds)."""
        numbers = docs.astype(np.uint64)
        word_at = (numbers >> _WORD_BITS).astype(np.intp)
        bit = numbers & _BIT
        words = self.words[word_at]
        where = np.flatnonzero((words >> bit) & _ONE)
        below = words[where] & ((_ONE << bit[where]) - _ONE)
        places = self.before[word_at[where]] + np.bitwise_count(below)
        return where, places.astype(np.intp)


def present(ids: DocIds | npt.NDArray[np.int64], docs: npt.NDArray[np.int64]) -> Located:
    """Where the sorted posting ids and the sorted candidates meet: the indices of the common
    documents in `docs` and in `ids`, by binary search of the shorter list in the longer. The
    shorter one takes the longer one's type: numpy would otherwise copy the longer one to a
    common type on every call (a common word's whole list, for a few candidates)."""
    if len(ids) <= len(docs):
        at = np.searchsorted(docs, ids.astype(docs.dtype, copy=False))
        hit = at < len(docs)
        hit[hit] = docs[at[hit]] == ids[hit]
        return at[hit], np.flatnonzero(hit)
    at = np.searchsorted(ids, docs.astype(ids.dtype, copy=False))
    hit = at < len(ids)
    hit[hit] = ids[at[hit]] == docs[hit]
    return np.flatnonzero(hit), at[hit]


def common_sorted(
    some: npt.NDArray[np.int64], others: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The numbers in both sorted, distinct arrays, in order, found by binary search
    (np.intersect1d sorts the two joined: the dear part for a few thousand numbers)."""
    return some[present(others, some)[0]]


def distinct_sorted(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The distinct values of a sorted array (np.unique without its sort)."""
    if not len(values):
        return values
    first = np.empty(len(values), dtype=bool)
    first[0] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return values[first]


def candidate_frequencies(
    searcher: Searcher, fieldname: str, text: str, docs: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.intp], Weights]:
    """For sorted candidates: the indices of those the term's list holds, and their term
    frequencies, segment by segment: by the term's ranks in the segment where it has them
    (built for a pass of MIN_BUILDING_CANDIDATES candidates or more), else by binary search of
    its live postings. Ranked frequencies come straight from the sidecar's weights, without
    the list's document numbers decoded, unless the segment has deletions (ranks are over
    live documents, the sidecar's weights over all)."""
    caches = caches_of(searcher)
    leaves = searcher.reader().leaf_readers()
    wheres, frequencies = [], []
    for leaf, offset in leaves:
        if len(leaves) == 1:
            start, end = 0, len(docs)
        else:
            start, end = np.searchsorted(docs, (offset, offset + leaf.doc_count_all())).tolist()
        if start == end:
            continue
        local = docs[start:end] - offset if offset else docs[start:end]
        ranks = segment_ranks(caches, leaf, fieldname, text, end - start)
        weights = None
        if ranks is not None and not leaf.has_deletions():
            weights = segment_weights(caches, leaf, fieldname, text)
        if weights is None:  # the live postings' own
            ids, weights = segment_postings(caches, leaf, fieldname, text)
        if ranks is not None:
            where, places = ranks.locate(local)
        else:
            where, places = present(ids, local)
        wheres.append(where + start if start else where)
        frequencies.append(weights[places])
    if len(wheres) == 1:
        return wheres[0], frequencies[0]
    if not wheres:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
    return np.concatenate(wheres), np.concatenate(frequencies)


def segment_ranks(
    caches: IndexCaches, leaf: Any, fieldname: str, text: str, candidates: int
) -> DocRanks | None:
    """The term's ranks in one segment (kept by segment and deletions, as its postings are),
    when the segment is big and the list common enough; built only for `candidates` of
    MIN_BUILDING_CANDIDATES or more."""
    key = segment_term_key(leaf, fieldname, text)
    doc_count = leaf.doc_count_all()
    if key is None or doc_count < MIN_RANKED_DOCS:
        return None
    ranks: DocRanks | None = caches.doc_ranks.get(key)
    if ranks is not None or candidates < MIN_BUILDING_CANDIDATES:
        return ranks
    ids = segment_postings(caches, leaf, fieldname, text)[0]
    if len(ids) * RANKED_SHARE < doc_count:
        return None
    ranks = DocRanks.of(ids, doc_count)
    caches.doc_ranks.put(key, ranks)
    return ranks


def warm_ranks(searcher: Searcher, fieldname: str, text: str) -> None:
    """Build the term's ranks in every segment where it qualifies (the server's warm-up)."""
    caches = caches_of(searcher)
    for leaf, _ in searcher.reader().leaf_readers():
        segment_ranks(caches, leaf, fieldname, text, MIN_BUILDING_CANDIDATES)
