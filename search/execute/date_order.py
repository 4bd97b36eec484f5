"""Matches in publication order: date sorts, and the newest when too many are left to score."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from whoosh.searching import Searcher

from search.execute.bitmaps import doc_array
from search.index.columns import dated_order


def by_date(
    searcher: Searcher, docs: Iterable[int], window: int, newest_first: bool
) -> list[tuple[int, float | None]]:
    """The first `window` documents by publication time (equal times: the later indexed first
    when newest first); undated ones last either way. Scores are None: nothing is scored."""
    order = dated_order(searcher)
    wanted = doc_array(docs)
    if window <= 0 or not len(wanted):
        return []
    if len(wanted) * 20 >= len(order.docs):  # many matches: mark them, walk the time order
        member = np.zeros(len(order.rank), dtype=np.bool_)
        member[wanted] = True
        in_order = order.docs[member[order.docs]]
        top = in_order[::-1][:window] if newest_first else in_order[:window]
    else:  # few: their places in the time order, the first `window` of them sorted
        places = order.rank[wanted]
        places = places[places >= 0]
        if newest_first:
            places = -places
        if len(places) > window:
            places = np.partition(places, window - 1)[:window]
        places = np.sort(places)
        top = order.docs[-places if newest_first else places]
    hits = top.tolist()
    if len(hits) < window:
        undated = wanted[order.rank[wanted] < 0]  # sorted, as `wanted` is
        hits += undated[: window - len(hits)].tolist()
    return [(d, None) for d in hits]
