"""search.execute.doc_ranks locates candidates in a posting list as the binary search does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from search.execute import doc_ranks
from search.execute.doc_ranks import DocRanks, candidate_frequencies, common_sorted, present
from search.execute.docsets import term_postings
from search.index.caches import caches_of

# (documents in the index, share of them the list holds, candidates, seed)
LISTS = [
    (1, 1.0, 1, 0),
    (64, 0.5, 64, 1),
    (65, 1.0, 65, 2),  # a second word with one bit
    (1000, 0.06, 300, 3),
    (1000, 0.9, 999, 4),
    (100_000, 0.3, 10_000, 5),
    (100_003, 0.01, 5, 6),
    (131_072, 0.5, 70_000, 7),
]


@pytest.mark.parametrize(("doc_count", "share", "wanted", "seed"), LISTS)
def test_bit_ranks_locate_as_the_binary_search(
    doc_count: int, share: float, wanted: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    ids = np.flatnonzero(rng.random(doc_count) < share).astype(np.int32)
    edges = [0, 63, 64, doc_count - 1]  # a word's first and last bits, the last document
    picked = rng.choice(doc_count, size=min(wanted, doc_count), replace=False)
    docs = np.unique(np.concatenate([picked, [e for e in edges if e < doc_count]]))
    docs = docs.astype(np.int64)
    where, places = DocRanks.of(ids, doc_count).locate(docs)
    expected_where, expected_places = present(ids, docs)
    assert where.tolist() == expected_where.tolist()
    assert places.tolist() == expected_places.tolist()


def test_an_empty_list_holds_no_candidate() -> None:
    where, places = DocRanks.of(np.zeros(0, np.int32), 200).locate(np.arange(200))
    assert len(where) == 0 and len(places) == 0


def test_ranks_take_an_eighth_of_a_byte_a_document_and_a_count_a_word() -> None:
    assert DocRanks.of(np.arange(0, 64_000, 3, dtype=np.int32), 64_000).nbytes == 8_000 + 4_000


# (field, term): common and rare lists of the churned index (many segments, deletions)
TERMS = [("title_folded", "mua"), ("body_folded", "o"), ("title_folded", "hue"), ("id", "x")]


@pytest.mark.parametrize("ranked", [False, True], ids=["binary search", "bit ranks"])
@pytest.mark.parametrize(("fieldname", "text"), TERMS)
def test_candidates_are_found_segment_by_segment(
    churned_index: Any, fieldname: str, text: str, ranked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each segment's candidates and their frequencies, shifted to the segment's place, are
    what a binary search of the whole index's list finds."""
    if ranked:
        monkeypatch.setattr(doc_ranks, "RANKED_SHARE", 10**9)
        monkeypatch.setattr(doc_ranks, "MIN_BUILDING_CANDIDATES", 0)
        monkeypatch.setattr(doc_ranks, "MIN_RANKED_DOCS", 0)
    with churned_index.searcher() as searcher:
        assert len(searcher.reader().leaf_readers()) > 1
        caches_of(searcher).doc_ranks.clear()
        ids, weights = term_postings(searcher, fieldname, text)
        docs = np.arange(searcher.doc_count_all(), dtype=np.int64)[::2]
        where, frequencies = candidate_frequencies(searcher, fieldname, text, docs)
        expected_where, expected_places = present(ids, docs)
        assert where.tolist() == expected_where.tolist()
        assert frequencies.tolist() == weights[expected_places].tolist()
        assert (len(caches_of(searcher).doc_ranks) > 0) == (ranked and len(ids) > 0)


@pytest.mark.parametrize(
    ("sizes", "spread", "seed"),
    [
        ((0, 5), 10, 0),  # an empty side
        ((1, 1), 1, 1),  # one number each, the same
        ((3000, 40), 10_000, 2),  # many against few, either way round below
        ((40, 3000), 10_000, 3),
        ((5000, 5000), 2**40, 4),  # places as (document << 32) + position: big numbers
        ((500, 500), 600, 5),  # mostly shared
    ],
)
def test_common_sorted_is_the_intersection(sizes: tuple[int, int], spread: int, seed: int) -> None:
    """common_sorted (binary search) against np.intersect1d (a sort of both joined), on
    sorted, distinct arrays."""
    rng = np.random.default_rng(seed)
    some, others = (np.unique(rng.integers(0, spread, size=size, dtype=np.int64)) for size in sizes)
    found = common_sorted(some, others)
    assert found.dtype == np.int64
    assert np.array_equal(found, np.intersect1d(some, others, assume_unique=True))
