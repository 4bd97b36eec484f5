"""The facets, declared once as data, and their counts, exact for the current query.

`FACETS` feeds everything that knows the facets: the counting here, the API's `facets`
parameter and filter parameters (web/params.py), the OpenAPI description and the results
page's sidebar (web/facets_view.py). Their order is the order everywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from whoosh import query as wq
from whoosh.searching import Searcher

from search.execute.bitmaps import DocSet, doc_array, docset
from search.execute.matchsets import MatchSets, matching_docs
from search.index.caches import caches_of, generation
from search.index.columns import coded_column
from search.index.schema import UNDATED


@dataclass(frozen=True)
class Facet:
    """One facet: what is counted, what the API calls it, how the page shows it.

    A "date" facet counts periods over every filter but the date window and lists them all,
    newest first; a "value" facet has its own repeatable filter parameter (named like the
    facet) and lists its most frequent values first, `facet_size` of them.
    """

    name: str  # the key in the API's `facets`, a value of its `facets=` parameter
    field: str  # the indexed column counted
    label: str  # the sidebar's heading on the results page
    kind: Literal["date", "value"]
    within_year: bool = False  # counted within the chosen year; shown only once one is chosen
    noun: str = ""  # what one value is, in the API's description of the filter parameter

    @property
    def own_filter(self) -> str:
        """The filter a facet is not narrowed by (filters.filter_sets names them)."""
        return "date" if self.kind == "date" else self.field


FACETS = (
    Facet("year", "year", "Năm", "date"),
    Facet("month", "month", "Tháng", "date", within_year=True),
    Facet("category", "category", "Chuyên mục", "value", noun="section"),
    Facet("source", "source", "Nguồn", "value", noun="source"),
    Facet("author", "author", "Tác giả", "value", noun="author"),
)
FACET_NAMES = tuple(facet.name for facet in FACETS)
# A column with at most this many distinct values keeps a bitmap per value: counting is then a
# cardinality per value; with more (authors), counting gathers the matches' codes instead.
MAX_BITMAP_VALUES = 256
# Counting by cardinalities costs per container of the values' bitmaps, and more per
# document for an array container (a value spread thin, as a year or a month is over an
# archive) than for a bitset one; gathering the matches' codes costs per match. Fewer matches
# than GATHER_PER_CONTAINER a container plus one per GATHER_PER_ARRAY_VALUE values held in
# array containers are gathered.
GATHER_PER_CONTAINER = 50
GATHER_PER_ARRAY_VALUE = 4
VALUE_FACETS = tuple(facet for facet in FACETS if facet.kind == "value")


def count_facets(
    searcher: Searcher,
    sets: MatchSets,
    month_scope: wq.Query | None = None,
    cache_key: tuple[Any, ...] | None = None,
) -> dict[str, Counter[str]]:
    """Counts per facet value, by facet name, each over every filter but its own (the date
    filter is the date facets' own); `month_scope` narrows the within-year facets to the
    chosen year. With a `cache_key` (a browse page), the counts are kept per generation."""
    facet_counts = caches_of(searcher).facet_counts
    key = (generation(searcher), cache_key)
    if cache_key is not None:
        cached: dict[str, Counter[str]] | None = facet_counts.get(key)
        if cached is not None:
            return cached
    scope_docs = matching_docs(searcher, month_scope) if month_scope is not None else None
    counts = {
        facet.name: _count(
            searcher,
            facet.field,
            sets.narrowed(facet.own_filter, extra=scope_docs if facet.within_year else None),
        )
        for facet in FACETS
    }
    if cache_key is not None:
        facet_counts.put(key, counts)
    return counts


def _count(searcher: Searcher, fieldname: str, docs: DocSet) -> Counter[str]:
    column = facet_column(searcher, fieldname)
    if column.docs is not None and len(docs) >= column.gather_below:
        # many matches, few values: a cardinality per value, nothing built
        counts = [docs.intersection_cardinality(held) for held in column.docs]
    else:
        counts = np.bincount(column.codes[doc_array(docs)], minlength=len(column.values)).tolist()
    counter = Counter({value: n for value, n in zip(column.values, counts, strict=True) if n})
    counter.pop("", None)  # no value (e.g. no author): not a facet value
    return counter


@dataclass(frozen=True)
class FacetColumn:
    """A facet field's column coded for counting: its distinct values, each document's value
    as a number, and, when the values are few, each value's documents as a bitmap."""

    values: list[str]  # the distinct values; a code is a place in this list
    codes: npt.NDArray[np.int32]  # per document number, its value's code
    docs: list[DocSet] | None  # per code, the documents with that value (few values only)
    gather_below: int = 0  # fewer matches are counted by gathering their codes


def gathering_bound(held: list[DocSet]) -> int:
    """How many matches cost as much to count by gathering their codes as by a cardinality
    per value's bitmap (see GATHER_PER_CONTAINER)."""
    containers = array_values = 0
    for docs in held:
        stats = docs.get_statistics()
        containers += stats["n_containers"]
        array_values += stats["n_values_array_containers"]
    return GATHER_PER_CONTAINER * containers + array_values // GATHER_PER_ARRAY_VALUE


def facet_column(searcher: Searcher, fieldname: str) -> FacetColumn:
    """The field's coded column, with each value's documents when the values are few, built
    once per index generation from the per-segment coded columns."""
    cache = caches_of(searcher).facet_columns
    key = (generation(searcher), fieldname)
    column: FacetColumn | None = cache.get(key)
    if column is None:
        coded = coded_column(searcher, fieldname)
        held, bound = None, 0
        if len(coded.values) <= MAX_BITMAP_VALUES:
            codes = coded.codes.astype(np.uint8)  # a stable sort of bytes is a radix sort
            by_code = np.argsort(codes, kind="stable")  # each value's documents, in order
            bounds = np.searchsorted(codes[by_code], np.arange(len(coded.values) + 1))
            held = [docset(by_code[lo:hi]) for lo, hi in zip(bounds, bounds[1:], strict=False)]
            bound = gathering_bound(held)
        column = FacetColumn(coded.values, coded.codes, held, bound)
        cache.put(key, column)
    return column


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
