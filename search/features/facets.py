"""Facet counts: year, month, category, source, author, exact for the current query."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from whoosh import query as wq
from whoosh.searching import Searcher

from search.execute.matchsets import MatchSets, matching_docs
from search.index.caches import caches_of, generation
from search.index.columns import column_values
from search.index.schema import UNDATED

FACET_NAMES = ("year", "month", "category", "source", "author")


def count_facets(
    searcher: Searcher,
    sets: MatchSets,
    month_scope: wq.Query | None = None,
    cache_key: tuple[Any, ...] | None = None,
) -> dict[str, Counter[str]]:
    """Counts per facet value, each over every filter but its own (the date filter is the
    year and month facets' own); `month_scope` narrows the month facet to the chosen year.
    With a `cache_key` (a browse page), the counts are kept per index generation."""
    facet_counts = caches_of(searcher).facet_counts
    key = (generation(searcher), cache_key)
    if cache_key is not None:
        cached: dict[str, Counter[str]] | None = facet_counts.get(key)
        if cached is not None:
            return cached
    scope_docs = matching_docs(searcher, month_scope) if month_scope is not None else None
    counts = {
        "year": _count(searcher, "year", sets.narrowed("date")),
        "month": _count(searcher, "month", sets.narrowed("date", extra=scope_docs)),
    }
    for name in ("category", "source", "author"):
        counts[name] = _count(searcher, name, sets.narrowed(name))
    if cache_key is not None:
        facet_counts.put(key, counts)
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
