"""Request filters (dates, section, source, author) as sets of documents, one per dimension.

Kept per dimension so that each facet can be counted with every filter but its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from whoosh.searching import Searcher
from whoosh.util.times import datetime_to_long

from search.analysis.dates import parse_period, to_index_value
from search.errors import InvalidParameter
from search.execute.bitmaps import DocSet, docset, union
from search.execute.docsets import term_docs
from search.index.caches import caches_of, generation
from search.index.columns import dated_order


@dataclass(frozen=True)
class DateWindow:
    """An inclusive range of instants, either end open."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def parse(cls, date_from: str | None, date_to: str | None) -> DateWindow:
        start = _bound(date_from, "from", first=True)
        end = _bound(date_to, "to", first=False)
        if start and end and start > end:
            raise InvalidParameter(f"from ({date_from}) is after to ({date_to})", "invalid_date")
        return cls(start, end)

    def __bool__(self) -> bool:
        return self.start is not None or self.end is not None

    def covers_exactly(self, start: datetime, end: datetime) -> bool:
        return self.start == start and self.end == end


def _bound(value: str | None, name: str, first: bool) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        period_start, period_end = parse_period(value)
    except ValueError as error:
        raise InvalidParameter(f"{name}: {error}", "invalid_date") from None
    return period_start if first else period_end


def window_docs(searcher: Searcher, dates: DateWindow) -> DocSet:
    """Documents published inside the window (inclusive), from the dates in time order
    (Whoosh's DateRange walks every matching document, slow for a month of news); the last
    few windows are kept per index generation (a year's set is large to build)."""
    windows = caches_of(searcher).windows
    key = (generation(searcher), dates.start, dates.end)
    docs: DocSet | None = windows.get(key)
    if docs is None:
        order = dated_order(searcher)
        start, end = dates.start, dates.end
        low = np.searchsorted(order.times, _when(start), "left") if start else 0
        high = np.searchsorted(order.times, _when(end), "right") if end else len(order.times)
        docs = docset(np.sort(order.docs[low:high]))
        windows.put(key, docs)
    return docs


def _when(instant: datetime) -> int:
    """An instant as the index stores it: Whoosh's sortable number."""
    return int(datetime_to_long(to_index_value(instant)))


def value_docs(searcher: Searcher, fieldname: str, values: tuple[str, ...]) -> DocSet:
    """Documents whose field holds any of the values, from posting lists."""
    return union(term_docs(searcher, fieldname, value) for value in values)


def filter_sets(
    searcher: Searcher, dates: DateWindow, values: dict[str, tuple[str, ...]]
) -> dict[str, DocSet]:
    """The documents each active filter lets through, by facet dimension ("date", ...)."""
    sets = {name: value_docs(searcher, name, chosen) for name, chosen in values.items() if chosen}
    if dates:
        sets["date"] = window_docs(searcher, dates)
    return sets
