"""The one search function behind the CLI, the pages and the JSON API.

`SearchRequest.from_params` checks what a client sent (400 on anything wrong) against the
limits of the Settings it is given (the defaults when none); `run_search` runs it on an open
index or searcher, within the request's time budget, and returns the result shape of the API.
The engine never reads the environment: its caller resolves the settings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from whoosh import query as wq
from whoosh.searching import Searcher
from whoosh.util.times import long_to_datetime

from search.analysis.dates import VIETNAM, iso_vietnam, parse_period
from search.execute.agreement import ArchiveView
from search.execute.bitmaps import docset
from search.execute.docsets import held_among
from search.execute.matchsets import MatchSets
from search.execute.passages import Promotion
from search.execute.retrieve import execute
from search.features.facets import FACETS, VALUE_FACETS, Facet, count_facets, facet_list
from search.features.filters import DateWindow, filter_sets
from search.features.highlight import MatchTerms, highlight, hit_snippet
from search.features.suggest import did_you_mean
from search.index.caches import caches_of, generation
from search.index.columns import NO_DATE, date_values, published_time
from search.index.documents import stored_fields
from search.query.build import build_query
from search.query.parse import ParsedQuery, parse_query
from search.query.weights import recency_factor, weighting, with_recency
from search.request import SearchRequest


@contextmanager
def _searcher_for(index_or_searcher: Any) -> Iterator[Searcher]:
    if isinstance(index_or_searcher, Searcher):
        yield index_or_searcher
    else:
        with index_or_searcher.searcher(weighting=weighting()) as searcher:
            yield searcher


def build_request_query(request: SearchRequest, level: str = "all") -> wq.Query:
    """The Whoosh query a request runs at a given strictness (for --explain and tests)."""
    return build_query(parse_query(request.q), level)


def run_search(
    index_or_searcher: Any, request: SearchRequest, archive: ArchiveView | None = None
) -> dict[str, Any]:
    """Run a request; returns the API's result shape. A shard runs its part of a sharded
    archive's request with the `archive`'s plan, recency origin and total."""
    started = time.perf_counter()
    parsed = parse_query(request.q)
    with _searcher_for(index_or_searcher) as searcher:
        deadline = started + request.time_limit_ms / 1000
        sort = request.sort if not parsed.is_empty else request.browse_sort
        window = request.page * request.per_page
        values = {facet.field: request.chosen(facet) for facet in VALUE_FACETS}
        by_filter = filter_sets(searcher, request.dates, values)
        plan = archive.plan if archive else None
        outcome = execute(searcher, parsed, by_filter, sort, window, deadline, plan)
        newest = archive.newest if archive else newest_published(searcher)
        hits, cut_short, shown = _hits(
            searcher, outcome.ranked, parsed, request, sort, deadline, newest
        )
        partial = outcome.partial or cut_short
        facets: dict[str, Any] = {}
        if request.facets and not partial:
            facets = _facets(searcher, outcome.sets, request, parsed)
        total = outcome.total  # exact even when out of time: matching is set algebra
        known = archive.total if archive else total
        suggestion = did_you_mean(searcher, request.q, known) if request.q else None
    result = {
        "query": request.q,
        "total": total,
        "page": request.page,
        "per_page": request.per_page,
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
        "hits": hits,
        "facets": facets,
        "suggestion": suggestion,
        "partial": partial,
    }
    if archive is not None and outcome.before_rerank is not None:
        promoted = outcome.promotion.holders if outcome.promotion else {}
        result["before_rerank"] = _before_rerank(outcome.before_rerank, shown, promoted)
    if archive is not None and outcome.promotion is not None:
        result["promotion"] = _promotion(searcher, outcome.promotion, hits, shown, newest)
    return result


def _promotion(
    searcher: Searcher,
    promotion: Promotion,
    hits: list[dict[str, Any]],
    shown: list[int],
    newest: datetime | None,
) -> dict[str, Any]:
    """A shard's run promotion for its archive: its best score before the bonus, and for
    each holder shown its score before the bonus and its recency factor (id -> [score,
    factor]), from which the archive scores it with the archive's bonus."""
    published = date_values(searcher)
    holders = {
        hit["id"]: [
            promotion.holders[docnum],
            recency_factor(_when(published_time(published, docnum)), newest),
        ]
        for hit, docnum in zip(hits, shown, strict=True)
        if docnum in promotion.holders
    }
    return {"best": promotion.best, "holders": holders}


def _before_rerank(
    scores: dict[int, float], shown: list[int], promoted: Mapping[int, float]
) -> dict[str, list[float]]:
    """A shard's scores before the stored-text rewards, for its archive to agree which are
    reranked (search.cluster.engine): every reranked one's, best first, and the hits'. A
    remembered run's holders are reranked apart and always kept: theirs count as infinite."""
    return {
        "reranked": sorted(scores.values(), reverse=True),
        "hits": [math.inf if d in promoted else scores.get(d, 0.0) for d in shown],
    }


def _hits(
    searcher: Searcher,
    ranked: list[tuple[int, float | None]],
    parsed: ParsedQuery,
    request: SearchRequest,
    sort: str,
    deadline: float,
    newest: datetime | None,
) -> tuple[list[dict[str, Any]], bool, list[int]]:
    """The page's hits, whether their missing words were left out for the deadline (then
    no hit lists them), and their document numbers; relevance is nudged towards `newest`."""
    if sort == "relevance":
        published = date_values(searcher)
        ranked = sorted(
            (
                (d, with_recency(s or 0.0, _when(published_time(published, d)), newest))
                for d, s in ranked
            ),
            key=lambda item: -(item[1] or 0.0),
        )
    first = (request.page - 1) * request.per_page
    terms = MatchTerms.from_query(parsed) if request.highlight else MatchTerms()
    shown = ranked[first : first + request.per_page]
    page = [docnum for docnum, _ in shown]
    hits = [_hit(stored_fields(searcher, docnum), score, terms) for docnum, score in shown]
    cut_short = bool(request.missing) and time.perf_counter() > deadline
    missing = missing_words(searcher, parsed, page) if request.missing and not cut_short else {}
    for hit, docnum in zip(hits, page, strict=True):
        hit["missing"] = missing.get(docnum, [])
    return hits, cut_short, page


def missing_words(
    searcher: Searcher, parsed: ParsedQuery, docnums: list[int]
) -> dict[int, list[str]]:
    """The typed words each hit does not hold, in typed order: a hit can come back without
    one (all but one, any word, near-miss titles), and the reader should see which. Only plain
    words are listed: never phrases, wildcards, fuzzy words or words with an alternative.
    Each word is looked for among the page's hits at once."""
    page = docset(docnums)
    listed = [group[0] for group in parsed.groups if len(group) == 1 and group[0].kind == "terms"]
    holding = [held_among(searcher, clause, page) for clause in listed]
    return {
        docnum: [
            " ".join(c.terms) for c, held in zip(listed, holding, strict=True) if docnum not in held
        ]
        for docnum in docnums
    }


def _when(value: int | None) -> datetime | None:
    return None if value is None else long_to_datetime(value)


def newest_published(searcher: Searcher) -> datetime | None:
    """The newest publication time in the index (cached per generation): recency's origin."""
    newest = caches_of(searcher).newest
    key = (generation(searcher),)
    cached: tuple[datetime | None] | None = newest.get(key)
    if cached is None:
        latest = int(date_values(searcher).max(initial=NO_DATE))
        cached = (None if latest == NO_DATE else long_to_datetime(latest),)
        newest.put(key, cached)
    return cached[0]


def _hit(fields: dict[str, Any], score: float | None, terms: MatchTerms) -> dict[str, Any]:
    title = fields.get("title", "")
    summary = fields.get("summary", "")
    body = fields.get("body", "")
    return {
        "id": fields["id"],
        "url": fields.get("url"),
        "title": title,
        "title_highlight": highlight(title, terms),
        "summary": summary,
        "snippet": hit_snippet(title, summary, body, terms),
        "published": iso_vietnam(fields.get("published")),
        "source": fields.get("source"),
        "category": fields.get("category"),
        "author": fields.get("author"),
        "score": None if score is None else round(score, 4),
    }


def _facets(
    searcher: Searcher, sets: MatchSets, request: SearchRequest, parsed: ParsedQuery
) -> dict[str, Any]:
    chosen_year = _single_year(request.dates)
    month_scope = wq.Term("year", str(chosen_year)) if chosen_year else None
    cache_key = None
    if parsed.is_empty:  # browse pages repeat: cache their counts per index generation
        cache_key = ("browse", request.dates, *(request.chosen(f) for f in VALUE_FACETS))
    counts = count_facets(searcher, sets, month_scope, cache_key)
    return {
        facet.name: facet_list(
            counts[facet.name],
            _selection(request, facet),
            None if facet.kind == "date" else request.facet_size,
            facet.kind == "date",
        )
        for facet in FACETS
    }


def _selection(request: SearchRequest, facet: Facet) -> Callable[[str], bool]:
    """Whether a facet value is one the request filters by."""
    if facet.kind == "date":
        return lambda value: _period_selected(request, value)
    chosen = request.chosen(facet)
    return lambda value: value in chosen


def _single_year(dates: DateWindow) -> int | None:
    if dates.start and dates.end:
        start, end = dates.start.astimezone(VIETNAM), dates.end.astimezone(VIETNAM)
        if start.year == end.year:
            return start.year
    return None


def _period_selected(request: SearchRequest, value: str) -> bool:
    if not request.dates or not value[:4].isdigit():
        return False
    start, end = parse_period(value)
    return request.dates.covers_exactly(start, end)
