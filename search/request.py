"""A search request as a client sends it, checked: `SearchRequest.from_params` raises a 400
(InvalidParameter) on anything wrong, against the limits of the Settings it is given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from search.analysis.tokenizer import normalize_text
from search.errors import InvalidParameter
from search.features.facets import Facet
from search.features.filters import DateWindow
from search.settings import DEFAULTS, Settings

SORTS = ("relevance", "newest", "oldest")


@dataclass(frozen=True)
class SearchRequest:
    """A checked search request. Build it with `from_params`."""

    q: str = ""
    page: int = 1
    per_page: int = DEFAULTS.page_size
    sort: str = "relevance"
    dates: DateWindow = DateWindow()
    category: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    facets: bool = True
    date_from: str | None = None
    date_to: str | None = None
    highlight: bool = True  # exports skip it: marking snippets is most of their cost
    missing: bool = True  # the hits' missing words; exports skip them (their rows omit them)
    time_limit_ms: int = DEFAULTS.search_time_limit_ms  # then the search answers `partial`
    facet_size: int = DEFAULTS.facet_size  # values listed per value facet (0: all)

    def chosen(self, facet: Facet) -> tuple[str, ...]:
        """The values a value facet's filter keeps (the attribute named like the facet)."""
        values: tuple[str, ...] = getattr(self, facet.name)
        return values

    @property
    def browse_sort(self) -> str:
        """Browsing (no words) has no relevance: newest first unless asked otherwise."""
        return "newest" if self.sort == "relevance" else self.sort

    @classmethod
    def from_params(
        cls,
        q: str | None = "",
        page: int | str | None = 1,
        per_page: int | str | None = None,
        sort: str | None = "relevance",
        date_from: str | None = None,
        date_to: str | None = None,
        category: Sequence[str] = (),
        source: Sequence[str] = (),
        author: Sequence[str] = (),
        facets: bool = True,
        settings: Settings = DEFAULTS,
    ) -> SearchRequest:
        """Validate request parameters; raises InvalidParameter (a 400) with the reason.

        :param settings: the limits checked (max_query_chars, max_page_size,
            max_result_window), the default page size, and the time budget and facet size
            the request carries to `run_search`.
        """
        q = normalize_text(q or "").strip()  # NFD text is longer: measure it composed
        if len(q) > settings.max_query_chars:
            raise InvalidParameter(
                f"q is longer than {settings.max_query_chars} characters", "query_too_long"
            )
        page_number = _positive_int(page, "page", 1)
        size = _positive_int(per_page, "per_page", settings.page_size)
        if size > settings.max_page_size:
            raise InvalidParameter(f"per_page must be at most {settings.max_page_size}")
        if page_number * size > settings.max_result_window:
            raise InvalidParameter(
                f"results beyond the first {settings.max_result_window} cannot be paged "
                "to; narrow the search with filters",
                "result_window_too_deep",
            )
        sort = sort or "relevance"
        if sort not in SORTS:
            raise InvalidParameter(f"sort must be one of {', '.join(SORTS)}", "invalid_sort")
        return cls(
            q,
            page_number,
            size,
            sort,
            DateWindow.parse(date_from, date_to),
            _values(category),
            _values(source),
            _values(author),
            facets,
            date_from or None,
            date_to or None,
            time_limit_ms=settings.search_time_limit_ms,
            facet_size=settings.facet_size,
        )


def _positive_int(value: int | str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > 9:
            raise InvalidParameter(f"{name} must be a positive whole number")
        value = int(value)
    if value < 1:
        raise InvalidParameter(f"{name} must be 1 or more")
    return value


def _values(values: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    return tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))
