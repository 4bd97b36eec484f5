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

NO_DATE = np.iinfo(np.int64).min  # an undated document's publication time in `date_values`


@dataclass(frozen=True)
class CodedColumn:
    """A column's values coded: its distinct values, and each document's value as a place in
    that list (numbers make counting and merging segments array work)."""

    values: list[str]
    codes: npt.NDArray[np.int32]  # per document number


def coded_column(searcher: Searcher, fieldname: str) -> CodedColumn:
    """The field's coded column over every document number (deleted ones included), cached
    per generation.

    Built segment by segment: a segment where no document has the field (no author anywhere,
    say) has no column at all, and a plain multi-segment column read would come up short and
    shift every later segment's values. Segments never change, so each one's coded column is
    kept across commits: a new generation decodes only its new segments, then recodes and
    joins the arrays (a full read of a large archive's column is dear, and an import commits
    every few seconds).
    """
    caches = caches_of(searcher)
    key = (generation(searcher), fieldname)
    column: CodedColumn | None = caches.columns.get(key)
    if column is None:
        codes_of: dict[str, int] = {}
        parts = []
        for leaf, _offset in searcher.reader().leaf_readers():
            segment = _segment_column(caches, leaf, fieldname)
            recode = [codes_of.setdefault(v, len(codes_of)) for v in segment.values]
            parts.append(np.array(recode, dtype=np.int32)[segment.codes])
        codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        column = CodedColumn(list(codes_of), codes.astype(np.int32, copy=False))
        caches.columns.put(key, column)
    return column


def _segment_column(caches: IndexCaches, leaf: Any, fieldname: str) -> CodedColumn:
    """One segment's coded column ("" where a document has no value)."""
    key = (_segment_id(leaf), fieldname)
    cached: CodedColumn | None = caches.segment_columns.get(key)
    if cached is not None:
        return cached
    count = leaf.doc_count_all()
    codes_of: dict[str, int] = {"": 0}
    codes = np.zeros(count, dtype=np.int32)
    if leaf.has_column(fieldname):
        raw = [v if isinstance(v, str) else "" for v in leaf.column_reader(fieldname)]
        found = [codes_of.setdefault(v, len(codes_of)) for v in raw[:count]]
        codes[: len(found)] = found
    cached = CodedColumn(list(codes_of), codes)
    caches.segment_columns.put(key, cached)
    return cached


def _segment_dates(caches: IndexCaches, leaf: Any) -> npt.NDArray[np.int64]:
    """One segment's publication times as Whoosh's sortable numbers (NO_DATE: none)."""
    key = (_segment_id(leaf), "published")
    cached: npt.NDArray[np.int64] | None = caches.segment_columns.get(key)
    if cached is not None:
        return cached
    count = leaf.doc_count_all()
    times = np.full(count, NO_DATE, dtype=np.int64)
    if leaf.has_column("published"):
        raw = leaf.column_reader("published", translate=False)
        read = np.fromiter(raw, dtype=np.uint64, count=min(len(raw), count))
        fits = read <= np.iinfo(np.int64).max  # a document with no date holds 2**64 - 1
        times[: len(read)] = np.where(fits, read.astype(np.int64), NO_DATE)
    caches.segment_columns.put(key, times)
    return times


def _segment_id(leaf: Any) -> str:
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    return str(segment.segment_id()) if segment is not None else repr(leaf)


def date_values(searcher: Searcher) -> npt.NDArray[np.int64]:
    """Per document number, its publication time as Whoosh's sortable number, NO_DATE when
    undated (no date, or the "undated" year), cached per generation: date sorts need no
    scoring and no Whoosh sorting."""
    caches = caches_of(searcher)
    key = (generation(searcher),)
    values: npt.NDArray[np.int64] | None = caches.dates.get(key)
    if values is None:
        parts = [_segment_dates(caches, leaf) for leaf, _ in searcher.reader().leaf_readers()]
        values = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        years = coded_column(searcher, "year")
        undated = [code for code, year in enumerate(years.values) if year in ("", UNDATED)]
        values = np.where(np.isin(years.codes, undated), NO_DATE, values)
        caches.dates.put(key, values)
    return values


def published_time(values: npt.NDArray[np.int64], docnum: int) -> int | None:
    """A document's publication time from `date_values`, or None when undated."""
    value = int(values[docnum])
    return None if value == NO_DATE else value


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
        times = date_values(searcher)
        docs = np.flatnonzero(times != NO_DATE)
        docs = docs[np.argsort(times[docs], kind="stable")]  # equal times: by number
        rank = np.full(len(times), -1, dtype=np.int64)
        rank[docs] = np.arange(len(docs))
        cached = DatedOrder(times[docs], docs.astype(np.int64), rank)
        caches.dated_order.put(key, cached)
    return cached
