"""The documents a request matches, kept apart per filter so facets can skip their own."""

from __future__ import annotations

from dataclasses import dataclass

from whoosh import query as wq
from whoosh.searching import Searcher

from search.execute.bitmaps import DocSet, docset
from search.execute.docsets import live_docs, term_docs


def matching_docs(searcher: Searcher, q: wq.Query | None) -> DocSet:
    """Document numbers matching a query (all live documents, cached, for None or match-all)."""
    if q is None or isinstance(q, wq.Every):
        return live_docs(searcher)
    if isinstance(q, wq.Term):  # the year scope of the month facet: a cached posting set
        return term_docs(searcher, q.fieldname, q.text)
    return docset(searcher.docs_for_query(q))


@dataclass(frozen=True)
class MatchSets:
    """The documents a request matches, kept apart per filter so facets can skip their own.

    Whoosh's top-N collector over-counts less than it should (528 of 539 matches for one
    query on dantri), so totals are counted here, exactly, from these sets.
    """

    base: DocSet  # documents matching the words (every live one when browsing)
    by_filter: dict[str, DocSet]  # documents passing each facet dimension's filter

    def narrowed(self, *skip: str, extra: DocSet | None = None) -> DocSet:
        result = self.base
        for name, subset in self.by_filter.items():
            if name not in skip:
                result = result & subset
        return result & extra if extra is not None else result


FEW_MATCHES = 10  # fewer articles than a page hold every word: titles missing one may join


@dataclass(frozen=True)
class MatchPlan:
    """What matching is told when the shards of an archive agree on it
    (search.execute.agreement): the level, and whether near-miss titles join the matches."""

    level: str
    near_misses: bool = False
    champions: ChampionCut | None = None  # None: as one index would choose them alone
    # how the champions are bounded when the archive holds too many (None: as one index
    # would bound them alone, search.execute.candidates.bound_candidates)
    narrowing: Narrowing | None = None
    # the archive's RERANK_WINDOW-th best score before the stored-text rewards: only the
    # candidates scoring that much are reranked (None: this shard's own best window)
    rerank_floor: float | None = None


@dataclass(frozen=True)
class ChampionCut:
    """Which matches an archive's shards score (search.execute.candidates.champions): a
    champion tier (0: the words side by side in the title, 1: every word in the title; None:
    every match), and within it the titles up to the `last` title key (None: all of them;
    search.execute.candidates.TitleKey)."""

    tier: int | None
    last: tuple[int, int] | None = None


@dataclass(frozen=True)
class Narrowing:
    """How an archive's shards bound too many candidates as one index would
    (search.execute.candidates.bound_candidates): the query's word groups to intersect them
    with, in order (indexes into ParsedQuery.groups), then, when still too many, the dated
    ones published at `dated_from` or later (None: every dated one) and the first `undated`
    undated ones. `dated_from` None and `undated` None: no cut by date."""

    groups: tuple[int, ...]
    dated_from: int | None = None
    undated: int | None = None
