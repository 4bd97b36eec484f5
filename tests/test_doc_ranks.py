"""search.execute.doc_ranks locates candidates in a posting list as the binary search does."""

from __future__ import annotations

import numpy as np
import pytest

from search.execute.doc_ranks import DocRanks
from search.execute.scoring import _present

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
    expected_where, expected_places = _present(ids, docs)
    assert where.tolist() == expected_where.tolist()
    assert places.tolist() == expected_places.tolist()


def test_an_empty_list_holds_no_candidate() -> None:
    where, places = DocRanks.of(np.zeros(0, np.int32), 200).locate(np.arange(200))
    assert len(where) == 0 and len(places) == 0


def test_ranks_take_an_eighth_of_a_byte_a_document_and_a_count_a_word() -> None:
    assert DocRanks.of(np.arange(0, 64_000, 3, dtype=np.int32), 64_000).nbytes == 8_000 + 4_000
