"""Too many candidates bounded over two shards as one index bounds them
(search.execute.narrowing against search.execute.candidates.bound_candidates), on the demo
index split in two as shards split it: the bound agreed on the summed counts, applied by each
half, keeps what one index keeps, articles published at the same second as the cut aside."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from search.execute.bitmaps import DocSet, doc_array, docset
from search.execute.candidates import agreed_candidates, bound_candidates, group_docs
from search.execute.docsets import live_docs
from search.execute.narrowing import (
    NarrowingFacts,
    agreed_narrowing,
    candidate_facts,
    group_order,
)
from search.index.columns import NO_DATE, date_values
from search.query.parse import parse_query


def halves(searcher: Any, how: str) -> list[DocSet]:
    every = doc_array(live_docs(searcher))
    if how == "parity":
        return [docset(every[every % 2 == 0]), docset(every[every % 2 == 1])]
    return [docset(every[: len(every) // 3]), docset(every[len(every) // 3 :])]


def bounded_by_halves(
    searcher: Any, q: str, how: str, needed: int, most: int
) -> tuple[DocSet, list[list[int]]]:
    """The union of each half's candidates bounded as the two agree, and the orders asked."""
    parsed = parse_query(q)
    parts = halves(searcher, how)
    sizes = [tuple(len(docs & part) for docs in group_docs(searcher, parsed)) for part in parts]
    asked: list[list[int]] = []

    def ask(order: list[int]) -> list[NarrowingFacts]:
        asked.append(order)
        return [candidate_facts(searcher, parsed, part, order, most) for part in parts]

    narrowing = agreed_narrowing(ask, group_order(sizes), needed, most)
    if narrowing is None:
        return live_docs(searcher), asked
    kept = [agreed_candidates(searcher, parsed, part, narrowing) for part in parts]
    return kept[0] | kept[1], asked


@pytest.mark.parametrize("how", ["parity", "uneven"])
@pytest.mark.parametrize(
    ("q", "needed", "most"),
    [
        ("tỉnh giao thông", 2, 10),  # narrowed by the rarest word
        ("tỉnh giao thông", 20, 40),
        ("zzzz tỉnh giao thông", 2, 10),  # a word nothing holds is skipped
        ("zzzz", 2, 10),  # nothing to narrow by: the newest
        ("zzzz", 2, 60),
        ("người dân", 5, 25),
        ("năm", 2, 100_000),  # few enough: untouched
    ],
)
def test_two_shards_bound_their_candidates_as_one_index(
    searcher: Any, how: str, q: str, needed: int, most: int
) -> None:
    every = live_docs(searcher)
    single = bound_candidates(searcher, parse_query(q), every, needed, most)
    agreed, _ = bounded_by_halves(searcher, q, how, needed, most)
    assert single <= agreed
    extra = doc_array(agreed - single)
    if len(extra):  # only articles published at the second of the date cut, or undated
        dates = date_values(searcher)
        cut = dates[doc_array(single)]
        last = cut[cut != NO_DATE].min()
        assert np.all((dates[extra] == last) | (dates[extra] == NO_DATE))


@pytest.mark.parametrize(
    ("q", "asks"),
    [
        ("tỉnh giao thông", 1),
        ("zzzz tỉnh giao thông", 2),  # the rare word is left out of the order, then asked again
        ("zzzz yyyy tỉnh giao thông", 3),
    ],
)
def test_a_group_too_rare_to_narrow_by_costs_one_more_ask(searcher: Any, q: str, asks: int) -> None:
    _, asked = bounded_by_halves(searcher, q, "parity", 2, 10)
    assert len(asked) == asks
    assert all(len(later) == len(asked[0]) - i for i, later in enumerate(asked))
