"""How a request is run: named steps, each handing the next a typed value.

1. `match` -> Matches. The matching documents come from set algebra on posting lists
   (search.execute.docsets), strict first: every word, else all words but one, else any
   word; titles holding all the words but one may join them (_near_miss_titles). They give
   the exact total and the facet counts.
2. Date sorts walk the cached time order of the documents (search.execute.date_order): no
   scoring at all.
3. `rank` -> Scored, for relevance (search.execute.ranking): the best-scored window of the
   matches, reranked, a remembered run's holders first.
4. `execute` runs the steps and hands the facade a Retrieval.
"""

from __future__ import annotations

from dataclasses import dataclass

from whoosh.searching import Searcher

from search.execute.bitmaps import EMPTY, DocSet
from search.execute.candidates import LONG_NEAR_MISS_WORDS
from search.execute.date_order import by_date
from search.execute.docsets import query_docs, titles_holding
from search.execute.matchsets import FEW_MATCHES, MatchPlan, MatchSets, matching_docs
from search.execute.passages import Promotion
from search.execute.ranking import Hit, rank
from search.query.parse import LEVELS, ParsedQuery


@dataclass(frozen=True)
class Matches:
    """What the matching step found: the strictest level with matches, and its documents."""

    level: str  # "all", "most" or "any" (search.query.parse.LEVELS)
    sets: MatchSets  # the documents matching the words, apart per filter (for the facets)
    docs: DocSet  # those every filter lets through: the matches


@dataclass(frozen=True)
class Retrieval:
    """What the facade gets: the ranked head, the sets for the facets, the exact total."""

    ranked: list[Hit]  # (docnum, score) from the first hit to the end of the window
    sets: MatchSets
    total: int
    partial: bool
    before_rerank: dict[int, float] | None = None  # Scored's: a shard reports them
    promotion: Promotion | None = None  # Scored's: a shard reports it


def execute(
    searcher: Searcher,
    parsed: ParsedQuery,
    by_filter: dict[str, DocSet],
    sort: str,
    window: int,
    deadline: float,
    plan: MatchPlan | None = None,
) -> Retrieval:
    """Match, count and rank one request (see the module docstring); `by_filter` holds the
    documents each active filter lets through (search.features.filters.filter_sets). A shard
    follows the `plan` its archive agreed on (search.execute.agreement)."""
    widen = sort == "relevance"
    if plan is None:
        matches = match(searcher, parsed, by_filter, widen)
    else:
        matches = match_planned(searcher, parsed, by_filter, widen, plan)
    total = len(matches.docs)  # exact even when out of time: matching is set algebra
    if sort != "relevance" or parsed.is_empty:
        hits = by_date(searcher, matches.docs, window, newest_first=sort != "oldest")
        return Retrieval(hits, matches.sets, total, partial=False)
    ranked = rank(searcher, parsed, matches.docs, window, deadline, plan)
    return Retrieval(
        ranked.hits, matches.sets, total, ranked.partial, ranked.before_rerank, ranked.promotion
    )


def match(
    searcher: Searcher, parsed: ParsedQuery, by_filter: dict[str, DocSet], widen: bool
) -> Matches:
    """The strictest level with matches: every word, else all words but one, else any word.
    In relevance order (`widen`) near-miss titles may join the strict matches
    (_near_miss_titles). Date sorts never widen: there the near misses would sit among the
    exact matches, not below them."""
    levels = LEVELS if len(parsed.groups) > 1 else LEVELS[:1]
    for level in levels[:-1]:
        matches = _at_level(searcher, parsed, by_filter, level)
        if matches.docs:
            break
    else:
        matches = _at_level(searcher, parsed, by_filter, levels[-1])
    if widen and matches.level == "all" and matches.docs and not parsed.is_empty:
        return _with_near_misses(searcher, parsed, matches)
    return matches


def match_planned(
    searcher: Searcher,
    parsed: ParsedQuery,
    by_filter: dict[str, DocSet],
    widen: bool,
    plan: MatchPlan,
) -> Matches:
    """`match` at the level, and with the near misses, that the plan says."""
    matches = _at_level(searcher, parsed, by_filter, plan.level)
    if not (widen and plan.near_misses):
        return matches
    near = titles_holding(searcher, parsed, missing=1)
    if near <= matches.sets.base:
        return matches
    sets = MatchSets(matches.sets.base | near, matches.sets.by_filter)
    return Matches(matches.level, sets, sets.narrowed())


def _at_level(
    searcher: Searcher, parsed: ParsedQuery, by_filter: dict[str, DocSet], level: str
) -> Matches:
    words_docs = query_docs(searcher, parsed, level)
    if words_docs is None:  # no words: every document
        words_docs = matching_docs(searcher, None)
    sets = MatchSets(words_docs, by_filter)
    return Matches(level, sets, sets.narrowed())


def _with_near_misses(searcher: Searcher, parsed: ParsedQuery, matches: Matches) -> Matches:
    """The strict matches, joined by the near-miss titles when those are new."""
    near = _near_miss_titles(searcher, parsed, matches.docs)
    if near <= matches.sets.base:
        return matches
    sets = MatchSets(matches.sets.base | near, matches.sets.by_filter)
    return Matches(matches.level, sets, sets.narrowed())


def _near_miss_titles(searcher: Searcher, parsed: ParsedQuery, matched: DocSet) -> DocSet:
    """Titles holding every word but one, when they should be ranked with the strict matches
    (only ever for 3 or more plain words, see search.execute.docsets.titles_holding):

    - fewer than a page of articles hold every word: a headline remembered with one word off
      ("quảng cáo cho website đánh bạc trái") must not lose to two long bodies that hold the
      seven common words scattered;
    - no title holds every word (5 or more words: fewer than a page of titles do): an extra
      word ("pháp triển khai nguy tiêm kích") otherwise leaves only bodies that hold the words
      scattered, and the headline holding all the others side by side never shows. With 3 or
      4 words even a few whole-title matches beat the near misses (admitting near misses
      below 10 such titles lost more known items than it found in bench/relevance.py).
    """
    if len(matched) >= FEW_MATCHES:
        enough = FEW_MATCHES if len(parsed.groups) >= LONG_NEAR_MISS_WORDS else 1
        if len(titles_holding(searcher, parsed, missing=0) & matched) >= enough:
            return EMPTY
    return titles_holding(searcher, parsed, missing=1)
