"""Per-document column values (facet fields, publication time), read per segment."""

from __future__ import annotations

import threading
from typing import Any

from whoosh.searching import Searcher

from search.index.caches import SizedCache, reader_key
from search.index.schema import UNDATED

_CACHE_LOCK = threading.Lock()
_COLUMN_CACHE: dict[tuple[str, int, str], list[str]] = {}


def column_values(searcher: Searcher, fieldname: str) -> list[str]:
    """The field's value for every document number (deleted ones included), cached.

    Built segment by segment: a segment where no document has the field (no author anywhere,
    say) has no column at all, and a plain multi-segment column read would come up short and
    shift every later segment's values. Segments never change, so each one's values are kept
    across commits and a new generation only reads its new segments (a full read of 156k
    articles' column costs ~200 ms, after every commit of an import otherwise).
    """
    key = (*reader_key(searcher), fieldname)
    values = _COLUMN_CACHE.get(key)
    if values is None:
        values = []
        for leaf, _offset in searcher.reader().leaf_readers():
            values.extend(_leaf_column(key[0], leaf, fieldname))
        with _CACHE_LOCK:
            for old in [k for k in _COLUMN_CACHE if k[0] == key[0] and k[1] != key[1]]:
                del _COLUMN_CACHE[old]  # an older generation of the same index
            _COLUMN_CACHE[key] = values
    return values


_LEAF_COLUMNS = SizedCache(256, lambda _: 1)  # (folder, segment, field) -> values


def _leaf_column(folder: str, leaf: Any, fieldname: str) -> list[Any]:
    """One segment's column values (str for ID fields, raw numbers for `published`)."""
    key = (folder, _segment_id(leaf), fieldname)
    cached: list[Any] | None = _LEAF_COLUMNS.get(key)
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
    _LEAF_COLUMNS.put(key, values)
    return values


def _segment_id(leaf: Any) -> str:
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    return str(segment.segment_id()) if segment is not None else repr(leaf)


_DATES: dict[tuple[str, int], list[int | None]] = {}


def date_values(searcher: Searcher) -> list[int | None]:
    """Per document number, its publication time as Whoosh's sortable number, or None when
    undated (cached per generation): date sorts need no scoring and no Whoosh sorting."""
    key = reader_key(searcher)
    values = _DATES.get(key)
    if values is None:
        years = column_values(searcher, "year")
        values = []
        for leaf, _offset in searcher.reader().leaf_readers():
            values.extend(_leaf_column(key[0], leaf, "published"))
        values = [None if years[d] in ("", UNDATED) else v for d, v in enumerate(values)]
        with _CACHE_LOCK:
            _DATES.clear()
            _DATES[key] = values
    return values


_BY_DATE: dict[tuple[str, int], tuple[list[int], list[int]]] = {}


def dated_order(searcher: Searcher) -> tuple[list[int], list[int]]:
    """Dated documents sorted by publication time: (times, document numbers), cached per
    generation, so a date window is two bisects and a slice instead of a scan of every date."""
    key = reader_key(searcher)
    cached = _BY_DATE.get(key)
    if cached is None:
        pairs = sorted((v, d) for d, v in enumerate(date_values(searcher)) if v is not None)
        cached = ([v for v, _ in pairs], [d for _, d in pairs])
        with _CACHE_LOCK:
            _BY_DATE.clear()
            _BY_DATE[key] = cached
    return cached
