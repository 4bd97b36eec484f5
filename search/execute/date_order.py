"""Matches in publication order: date sorts, and the newest when too many are left to score."""

from __future__ import annotations

import heapq
from itertools import islice

from whoosh.searching import Searcher

from search.index.columns import date_values, dated_order


def by_date(
    searcher: Searcher, docs: frozenset[int], window: int, newest_first: bool
) -> list[tuple[int, float | None]]:
    """The first `window` documents by publication time (equal times: the later indexed first
    when newest first); undated ones last either way. Scores are None: nothing is scored."""
    _, in_order = dated_order(searcher)
    if len(docs) * 20 >= len(in_order):  # many matches: walk the time order, stop when full
        walk = reversed(in_order) if newest_first else iter(in_order)
        top = list(islice((d for d in walk if d in docs), window))
    else:  # few: sort them
        published = date_values(searcher)
        dated = [d for d in docs if published[d] is not None]
        pick = heapq.nlargest if newest_first else heapq.nsmallest
        top = pick(window, dated, key=lambda d: (published[d], d))  # the walk's tie order
    if len(top) < window:
        published = date_values(searcher)
        top += sorted(d for d in docs if published[d] is None)[: window - len(top)]
    return [(d, None) for d in top]
