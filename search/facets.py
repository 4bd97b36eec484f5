"""Facet counts: year, month, category, source, author, exact for the current query.

Each facet is counted over the documents that match the query and every filter except its own,
so a reader can switch from one month or section to another. Counting reads per-document
values from Whoosh's columns, copied once per index generation into plain lists; match-all
counts (the browse page) are cached per generation too.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from whoosh import query as wq
from whoosh.searching import Searcher

from search.cache import SizedCache
from search.postings import reader_key, term_docs
from search.schema import UNDATED

FACET_NAMES = ("year", "month", "category", "source", "author")
_CACHE_LOCK = threading.Lock()
_COLUMN_CACHE: dict[tuple[str, int, str], list[str]] = {}
_RESULT_CACHE: dict[tuple[Any, ...], dict[str, Counter[str]]] = {}
_MAX_RESULT_CACHE = 256


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


_ALL_DOCS: dict[tuple[str, int], frozenset[int]] = {}


def matching_docs(searcher: Searcher, q: wq.Query | None) -> frozenset[int]:
    """Document numbers matching a query (all live documents, cached, for None or match-all)."""
    if q is None or isinstance(q, wq.Every):
        key = reader_key(searcher)
        docs = _ALL_DOCS.get(key)
        if docs is None:
            docs = frozenset(searcher.reader().all_doc_ids())
            with _CACHE_LOCK:
                _ALL_DOCS.clear()
                _ALL_DOCS[key] = docs
        return docs
    if isinstance(q, wq.Term):  # the year scope of the month facet: a cached posting set
        return term_docs(searcher, q.fieldname, q.text)
    return frozenset(searcher.docs_for_query(q))


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


@dataclass(frozen=True)
class MatchSets:
    """The documents a request matches, kept apart per filter so facets can skip their own.

    Whoosh's top-N collector over-counts less than it should (528 of 539 matches for one
    query on dantri), so totals are counted here, exactly, from these sets.
    """

    base: frozenset[int]  # documents matching the words (every live one when browsing)
    by_filter: dict[str, frozenset[int]]  # documents passing each facet dimension's filter

    def narrowed(self, *skip: str, extra: frozenset[int] | None = None) -> frozenset[int]:
        result = self.base
        for name, subset in self.by_filter.items():
            if name not in skip:
                result = result & subset
        return result & extra if extra is not None else result


def count_facets(
    searcher: Searcher,
    sets: MatchSets,
    month_scope: wq.Query | None = None,
    cache_key: tuple[Any, ...] | None = None,
) -> dict[str, Counter[str]]:
    """Counts per facet value, each over every filter but its own (the date filter is the
    year and month facets' own); `month_scope` narrows the month facet to the chosen year."""
    key = (*reader_key(searcher), cache_key) if cache_key is not None else None
    if key is not None and key in _RESULT_CACHE:
        return _RESULT_CACHE[key]
    scope_docs = matching_docs(searcher, month_scope) if month_scope is not None else None
    counts = {
        "year": _count(searcher, "year", sets.narrowed("date")),
        "month": _count(searcher, "month", sets.narrowed("date", extra=scope_docs)),
    }
    for name in ("category", "source", "author"):
        counts[name] = _count(searcher, name, sets.narrowed(name))
    if key is not None:
        with _CACHE_LOCK:
            if len(_RESULT_CACHE) >= _MAX_RESULT_CACHE:
                _RESULT_CACHE.clear()
            _RESULT_CACHE[key] = counts
    return counts


def _count(searcher: Searcher, fieldname: str, docs: Iterable[int]) -> Counter[str]:
    values = column_values(searcher, fieldname)
    counter: Counter[str] = Counter(map(values.__getitem__, docs))  # C loop, no generator
    counter.pop("", None)  # no value (e.g. no author): not a facet value
    return counter


def facet_list(
    counts: Counter[str], selected: Callable[[str], bool], limit: int | None, by_value: bool
) -> list[dict[str, Any]]:
    """Ordered facet entries: dates newest first (undated last), others by count."""
    if by_value:
        items = sorted(counts.items(), key=lambda kv: (kv[0] == UNDATED, kv[0]), reverse=False)
        items = [kv for kv in items if kv[0] != UNDATED][::-1] + [
            kv for kv in items if kv[0] == UNDATED
        ]
    else:
        items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    chosen = [kv for kv in items if selected(kv[0])]
    shown = items[:limit] if limit else items
    shown += [kv for kv in chosen if kv not in shown]  # a selected value is always listed
    return [{"value": v, "count": c, "selected": selected(v)} for v, c in shown]
