"""Matches in publication order: date sorts, and the newest when too many are left to score."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from search.execute.bitmaps import doc_array
from search.index.columns import dated_order


def by_date(
    searcher: Searcher, docs: Iterable[int], window: int, newest_first: bool
) -> list[tuple[int, float | None]]:
    """The first `window` documents by publication time (equal times: the later indexed first
    when newest first); undated ones last either way. Scores are None: nothing is scored."""
    return [(d, None) for d in first_by_date(searcher, docs, window, newest_first).tolist()]


def first_by_date(
    searcher: Searcher, docs: Iterable[int], window: int, newest_first: bool
) -> npt.NDArray[np.int64]:
    """by_date's documents as an array, in order (no tuple per document: a bound on the
    candidates keeps thousands)."""
    order = dated_order(searcher)
    wanted = doc_array(docs)
    if window <= 0 or not len(wanted):
        return np.zeros(0, dtype=np.int64)
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
    if len(top) < window:
        undated = wanted[order.rank[wanted] < 0]  # sorted, as `wanted` is
        top = np.concatenate((top, undated[: window - len(top)]))
    return top.astype(np.int64, copy=False)
