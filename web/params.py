"""Request parameters shared by the pages and the API, declared once.

The same names mean the same thing everywhere (`/search`, `/api/search`, `/search.atom`), so
any page is a permalink and its API twin is the same query string under /api. The table below
also feeds the OpenAPI description and the canonical form used for ETags; the filter
parameters and the `facets` values come from the declared facets (search.features.facets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from indexer.validate import MAX_META_CHARS
from search.engine import SearchRequest
from search.errors import InvalidParameter
from search.features.facets import FACET_NAMES, VALUE_FACETS
from search.request import SORTS
from web.settings import current_settings

FORMATS = ("json", "csv", "jsonl")
# Each filter value is repeated in every link of a results page (and each "remove this
# filter" link carries the others): their number and length bound the page's size.
MAX_VALUES_PER_FILTER = 20
MAX_FILTER_VALUES = 30  # category, source and author together
_TRUE = ("", "1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "none")


@dataclass(frozen=True)
class Param:
    """One query-string parameter of the search endpoints."""

    name: str
    type: str  # JSON Schema type
    help: str  # may name settings in braces ({max_page_size}), filled in from the app's
    repeat: bool = False
    enum: tuple[str, ...] = ()
    api_only: bool = False


SEARCH_PARAMS = (
    Param("q", "string", 'Words to find. Supports "phrases", -excluded, OR, title:word.'),
    Param(
        "page",
        "integer",
        "Page number, from 1. page * per_page may not exceed {max_result_window:,}.",
    ),
    Param("per_page", "integer", "Results per page, 1 to {max_page_size} (default {page_size})."),
    Param("sort", "string", "Order of results.", enum=SORTS),
    Param("from", "string", "First day (YYYY-MM-DD, YYYY-MM, YYYY or d/m/yyyy), Vietnam time."),
    Param("to", "string", "Last day, inclusive, in the same forms as `from`."),
    *(
        Param(
            f.name,
            "string",
            f"Only this {f.noun}; repeat for any of several (at most {MAX_VALUES_PER_FILTER}, "
            f"and {MAX_FILTER_VALUES} filter values in all).",
            repeat=True,
        )
        for f in VALUE_FACETS
    ),
    Param(
        "facets",
        "string",
        "true (default), false, or a comma list of: " + ", ".join(FACET_NAMES) + ".",
        api_only=True,
    ),
    Param(
        "format",
        "string",
        "json (default); csv or jsonl export the whole result set (capped).",
        enum=FORMATS,
        api_only=True,
    ),
)
PARAMS_BY_NAME = {param.name: param for param in SEARCH_PARAMS}
# Parameters that define what a results page shows (everything but the page number).
STATE_PARAMS = ("q", "sort", "per_page", "from", "to", *(f.name for f in VALUE_FACETS))


def single(args: MultiDict[str, str], name: str, default: str | None = None) -> str | None:
    """The value of a parameter that may be given once; a repeated one is a 400."""
    values = args.getlist(name)
    if len(values) > 1:
        raise InvalidParameter(f"{name} may be given only once")
    return values[0] if values else default


def search_request(args: MultiDict[str, str], facets: bool = True) -> SearchRequest:
    """A checked SearchRequest from a query string, within the app's settings.

    :raise InvalidParameter: (a 400) for any value search.engine or this module refuses.
    """
    chosen = filter_values(args)
    return SearchRequest.from_params(
        q=single(args, "q", ""),
        page=single(args, "page"),
        per_page=single(args, "per_page"),
        sort=single(args, "sort") or "relevance",
        date_from=single(args, "from"),
        date_to=single(args, "to"),
        category=chosen["category"],
        source=chosen["source"],
        author=chosen["author"],
        facets=facets,
        settings=current_settings(),
    )


def distinct_values(values: list[str]) -> list[str]:
    """Filter values as the search reads them: stripped, empty ones dropped, each once."""
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def filter_values(args: MultiDict[str, str]) -> dict[str, list[str]]:
    """The distinct values of each value filter (category, source, author), within limits.

    :raise InvalidParameter: for more values than MAX_VALUES_PER_FILTER of one filter or
        MAX_FILTER_VALUES in all, or a value longer than the importer keeps (MAX_META_CHARS).
    """
    chosen = {facet.name: distinct_values(args.getlist(facet.name)) for facet in VALUE_FACETS}
    for name, values in chosen.items():
        if len(values) > MAX_VALUES_PER_FILTER:
            raise InvalidParameter(
                f"at most {MAX_VALUES_PER_FILTER} values of {name} in one request",
                "too_many_filter_values",
            )
        if any(len(value) > MAX_META_CHARS for value in values):
            raise InvalidParameter(f"a {name} value may be at most {MAX_META_CHARS} characters")
    if sum(len(values) for values in chosen.values()) > MAX_FILTER_VALUES:
        raise InvalidParameter(
            f"at most {MAX_FILTER_VALUES} filter values in one request", "too_many_filter_values"
        )
    return chosen


def output_format(args: MultiDict[str, str]) -> str:
    """json, csv or jsonl."""
    value = (single(args, "format") or "json").strip().lower()
    if value not in FORMATS:
        raise InvalidParameter(f"format must be one of {', '.join(FORMATS)}", "invalid_format")
    return value


def facet_names(args: MultiDict[str, str]) -> tuple[str, ...]:
    """Which facets to count: all (default or true), none (false) or the listed ones."""
    value = (single(args, "facets") or "").strip().lower()
    if value in _TRUE:
        return FACET_NAMES
    if value in _FALSE:
        return ()
    names = tuple(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))
    unknown = [name for name in names if name not in FACET_NAMES]
    if unknown:
        raise InvalidParameter(
            f"unknown facet {unknown[0]!r}; facets are {', '.join(FACET_NAMES)}", "invalid_facet"
        )
    return names


def canonical_query(args: MultiDict[str, str]) -> str:
    """The known parameters, sorted, empty ones dropped: equal requests give equal strings."""
    pairs: list[tuple[str, str]] = []
    for name in sorted(PARAMS_BY_NAME):
        values = sorted(v.strip() for v in args.getlist(name) if v.strip())
        pairs.extend((name, value) for value in values)
    return urlencode(pairs)


def state_params(args: MultiDict[str, str], **changes: str | list[str] | None) -> dict[str, Any]:
    """The parameters of the current view with some changed (None removes one).

    The page number is dropped unless given, so a new filter or sort starts at page 1. Filter
    values are carried once each, as the search reads them.
    """
    params = {name: [v for v in args.getlist(name) if v] for name in STATE_PARAMS}
    params.update((facet.name, distinct_values(args.getlist(facet.name))) for facet in VALUE_FACETS)
    for name, value in changes.items():
        name = name.rstrip("_")  # from_= for the reserved word
        if value is None:
            params[name] = []
        elif isinstance(value, list):
            params[name] = value
        else:
            params[name] = [value]
    return {name: values for name, values in params.items() if values}
