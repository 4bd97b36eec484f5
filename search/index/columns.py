"""Per-document column values (facet fields, publication time), read per segment and kept in
the index's caches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from search.index.caches import IndexCaches, caches_of, generation
from search.index.schema import UNDATED


def column_values(searcher: Searcher, fieldname: str) -> list[str]:
    """The field's value for every document number (deleted ones included), cached.

    Built segment by segment: a segment where no document has the field (no author anywhere,
    say) has no column at all, and a plain multi-segment column read would come up short and
    shift every later segment's values. Segments never change, so each one's values are kept
    across commits and a new generation only reads its new segments (a full read of a large
    archive's column is dear, and an import commits every few seconds).
    """
    caches = caches_of(searcher)
    key = (generation(searcher), fieldname)
    values: list[str] | None = caches.columns.get(key)
    if values is None:
        values = []
        for leaf, _offset in searcher.reader().leaf_readers():
            values.extend(_leaf_column(caches, leaf, fieldname))
        caches.columns.put(key, values)
    return values


def _leaf_column(caches: IndexCaches, leaf: Any, fieldname: str) -> list[Any]:
    """One segment's column values (str for ID fields, raw numbers for `published`)."""
    key = (_segment_id(leaf), fieldname)
    cached: list[Any] | None = caches.segment_columns.get(key)
    if cached is not None:
        return cached
    count = leaf.doc_count_all()
    values: list[Any] = [None if fieldname == "published" else ""] * count
    if leaf.has_column(fieldname):
        if fieldname == "published":
            raw = list(leaf.column_reader(fieldname, translate=False))
        else:
            raw = [v if isinstance(v, str) else "" for v in leaf.column_reader(fieldname)]
        values[: len(raw)] = raw[:count]
    caches.segment_columns.put(key, values)
    return values


def _segment_id(leaf: Any) -> str:
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    return str(segment.segment_id()) if segment is not None else repr(leaf)


def date_values(searcher: Searcher) -> list[int | None]:
    """Per document number, its publication time as Whoosh's sortable number, or None when
    undated (cached per generation): date sorts need no scoring and no Whoosh sorting."""
    caches = caches_of(searcher)
    key = (generation(searcher),)
    values: list[int | None] | None = caches.dates.get(key)
    if values is None:
        years = column_values(searcher, "year")
        values = []
        for leaf, _offset in searcher.reader().leaf_readers():
            values.extend(_leaf_column(caches, leaf, "published"))
        values = [None if years[d] in ("", UNDATED) else v for d, v in enumerate(values)]
        caches.dates.put(key, values)
    return values


@dataclass(frozen=True)
class DatedOrder:
    """The dated documents in publication order (equal times: by document number)."""

    times: npt.NDArray[np.int64]  # publication times, ascending
    docs: npt.NDArray[np.int64]  # the document published at each of those times
    rank: npt.NDArray[np.int64]  # per document number, its place in `docs` (-1: undated)


def dated_order(searcher: Searcher) -> DatedOrder:
    """Dated documents sorted by publication time, cached per generation: a date window is two
    binary searches and a slice, and date sorts need no scan of every date."""
    caches = caches_of(searcher)
    key = (generation(searcher),)
    cached: DatedOrder | None = caches.dated_order.get(key)
    if cached is None:
        values = date_values(searcher)
        size = len(values)
        dated = np.fromiter((v is not None for v in values), dtype=np.bool_, count=size)
        times = np.fromiter((v or 0 for v in values), dtype=np.int64, count=size)
        docs = np.flatnonzero(dated)
        docs = docs[np.lexsort((docs, times[docs]))]
        rank = np.full(size, -1, dtype=np.int64)
        rank[docs] = np.arange(len(docs))
        cached = DatedOrder(times[docs], docs.astype(np.int64), rank)
        caches.dated_order.put(key, cached)
    return cached
