"""The documents a request matches, kept apart per filter so facets can skip their own."""

from __future__ import annotations

from dataclasses import dataclass

from whoosh import query as wq
from whoosh.searching import Searcher

from search.execute.docsets import term_docs
from search.index.caches import caches_of, generation


def matching_docs(searcher: Searcher, q: wq.Query | None) -> frozenset[int]:
    """Document numbers matching a query (all live documents, cached, for None or match-all)."""
    if q is None or isinstance(q, wq.Every):
        all_docs = caches_of(searcher).all_docs
        key = (generation(searcher),)
        docs: frozenset[int] | None = all_docs.get(key)
        if docs is None:
            docs = frozenset(searcher.reader().all_doc_ids())
            all_docs.put(key, docs)
        return docs
    if isinstance(q, wq.Term):  # the year scope of the month facet: a cached posting set
        return term_docs(searcher, q.fieldname, q.text)
    return frozenset(searcher.docs_for_query(q))


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
