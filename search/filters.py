"""Request filters (dates, section, source, author) as Whoosh queries, one per facet dimension.

Kept per dimension so that each facet can be counted with every filter but its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from whoosh import query as wq

from search.dates import parse_period, to_index_value
from search.errors import InvalidParameter

VALUE_FIELDS = ("category", "source", "author")


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

    def query(self) -> wq.Query:
        start = to_index_value(self.start) if self.start else None
        end = to_index_value(self.end) if self.end else None
        return wq.DateRange("published", start, end)

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


def values_query(fieldname: str, values: tuple[str, ...]) -> wq.Query | None:
    """Documents whose field holds any of the values (facet values are matched exactly)."""
    if not values:
        return None
    terms: list[wq.Query] = [wq.Term(fieldname, value) for value in values]
    return terms[0] if len(terms) == 1 else wq.Or(terms)


def combine(filters: list[wq.Query | None]) -> wq.Query | None:
    present = [f for f in filters if f is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else wq.And(present)
