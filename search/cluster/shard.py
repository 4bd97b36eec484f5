"""One shard, held on a Dask worker as an actor: it opens its index once and answers the
engine's calls (search.cluster.engine) for as long as the worker lives.

The actor keeps one reader per generation (opening one reads the segments: the dear part) and
makes a searcher over it per call, cheap, carrying the statistics the engine sends: this
shard's own, or the whole archive's (search.query.collection). Dask runs an actor's calls one
at a time in one thread, so the reader is never shared between threads.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from search.engine import SearchRequest, newest_published, run_search
from search.execute.agreement import ArchiveView, ShardFacts, shard_facts
from search.execute.bitmaps import DocSet
from search.execute.matchsets import MatchPlan
from search.execute.narrowing import NarrowingFacts, narrowing_facts
from search.features.articles import get_article
from search.features.facets import VALUE_FACETS
from search.features.filters import filter_sets
from search.features.related import candidates_for, similar_query
from search.features.suggest import autocomplete
from search.index.documents import stored_fields
from search.index.durability import live_dir
from search.index.sidecar import MIN_SIDECAR_DOCS
from search.index.store import ArchiveIndex, ArchiveSearcher, open_index
from search.query.collection import (
    CollectionStats,
    GlobalBM25F,
    lexicon_counts,
    local_stats,
)
from search.query.parse import parse_query
from search.query.weights import weighting
from search.warmup import warm_caches

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardWarming:
    """How a shard actor readies its index, as a single index's server does (search.warmup):
    decoded postings for segments of `sidecar_min_docs` documents or more (search.index.
    sidecar), the files read ahead within `preload_percent` of the memory available
    (search.index.preload), then the caches of each field's `warm_terms` most frequent
    terms."""

    sidecar_min_docs: int = MIN_SIDECAR_DOCS
    preload_percent: int = 0
    warm_terms: int = 0


class ShardActor:
    """The shard numbered `number`, whose index is at `path` on this worker's disk, readied
    as `warming` says in a thread of its own: the actor answers meanwhile, decoding, and maps
    the sidecars once they are there."""

    def __init__(self, number: int, path: str, warming: ShardWarming = ShardWarming()) -> None:
        self.number = number
        self.path = path
        self._opened: tuple[str, int, ArchiveIndex, IndexReader] | None = None
        real = os.path.realpath(live_dir(path))
        self._warmed = (real, open_index(real))  # its caches, warmed, serve the calls
        self._sidecars_written: list[str] = []
        self._sidecars = threading.Thread(target=self._warm, args=(warming,), daemon=True)
        self._sidecars.start()

    def _warm(self, warming: ShardWarming) -> None:
        try:
            done = warm_caches(
                self._warmed[1],
                warming.warm_terms,
                warming.sidecar_min_docs,
                warming.preload_percent,
            )
        except Exception:  # noqa: BLE001 - warming is an optimisation: the shard answers cold
            log.exception("shard %d: warming its caches failed; answering cold", self.number)
            return
        self._sidecars_written = done["sidecars"]

    def sidecars_written(self) -> list[str]:
        """The sidecars this actor wrote, once it is done with them (it waits for that)."""
        self._sidecars.join()
        return self._sidecars_written

    def _reader(self) -> tuple[ArchiveIndex, IndexReader]:
        """The index and a reader of its latest generation, reopened after a commit or a
        switch of the live directory."""
        real = os.path.realpath(live_dir(self.path))
        if self._opened is not None and self._opened[0] == real:
            index = self._opened[2]
            if index.latest_generation() == self._opened[1]:
                return index, self._opened[3]
        elif self._warmed[0] == real:
            index = self._warmed[1]
        else:
            index = open_index(real)
        if self._opened is not None:
            self._opened[3].close()
        reader = index.reader()
        self._opened = (real, int(reader.generation()), index, reader)
        return index, reader

    def close(self) -> None:
        """Close the reader it holds (a worker's actor otherwise lives as long as the worker)."""
        if self._opened is not None:
            self._opened[3].close()
            self._opened = None

    def _searcher(self, stats: CollectionStats | None = None) -> Searcher:
        index, reader = self._reader()
        scoring = weighting() if stats is None else GlobalBM25F(stats, weighting())
        return ArchiveSearcher(reader, weighting=scoring, closereader=False, fromindex=index)

    def generation(self) -> int:
        return int(self._reader()[1].generation())

    def ping(self) -> dict[str, int]:
        """The shard's number, generation and live documents."""
        _, reader = self._reader()
        return {
            "shard": self.number,
            "generation": int(reader.generation()),
            "documents": reader.doc_count(),
        }

    def statistics(self) -> tuple[int, CollectionStats, datetime | None]:
        """This generation's own statistics and newest publication time, to be summed."""
        searcher = self._searcher()
        return self.generation(), local_stats(searcher), newest_published(searcher)

    def facts(self, request: SearchRequest) -> tuple[int, ShardFacts]:
        """The counts the archive agrees its plan on (search.execute.agreement), with the
        accent restorer's counts this shard looked up (search.query.collection)."""
        recorder = CollectionStats(1)
        searcher = self._searcher(recorder)
        parsed = parse_query(request.q)
        by_filter = _filters(searcher, request)
        ranked = request.sort == "relevance"
        window = request.page * request.per_page
        found = shard_facts(searcher, parsed, by_filter, ranked, window)
        return self.generation(), replace(found, lexicon=dict(recorder.looked_up))

    def narrowing(
        self, request: SearchRequest, plan: MatchPlan, order: list[int]
    ) -> NarrowingFacts:
        """This shard's counts for bounding the plan's candidates along the archive's order
        of the word groups (search.execute.narrowing)."""
        searcher = self._searcher()
        by_filter = _filters(searcher, request)
        return narrowing_facts(searcher, parse_query(request.q), by_filter, plan, order)

    def counts(
        self, lexicon_keys: list[tuple[str, str]], terms: list[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        """The accent restorer's counts here (search.query.collection.SharedLexicon keys), and
        the document frequency here of each term: those another shard counted, not this one."""
        searcher = self._searcher()
        here = {term: searcher.doc_frequency(*term) for term in terms}
        return lexicon_counts(searcher, lexicon_keys), here

    def search(
        self,
        request: SearchRequest,
        archive: ArchiveView,
        stats: CollectionStats,
        lacking: tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = ((), ()),
    ) -> dict[str, Any]:
        """This shard's part of a request: its best `page * per_page` hits, all facet values
        (the engine sums them, then cuts the lists), scored with the archive's statistics.
        Told the keys it did not count in its facts (`lacking`: accent restorer's keys and
        terms), it counts them: `late` lists those it holds. `uncounted` lists the counts it
        used that the archive did not give (the counts it used), `used` every count it asked
        for. The engine sums them and asks again where that changes a count used
        (search.cluster.engine)."""
        window = request.page * request.per_page
        part = replace(request, page=1, per_page=window, facet_size=0)
        stats = replace(stats, looked_up={}, estimated={}, used=set())
        searcher = self._searcher(stats)
        found = {"shard": self.number, **run_search(searcher, part, archive)}
        found["used"] = stats.used
        if stats.looked_up or stats.estimated:
            found["uncounted"] = {"lexicon": stats.looked_up, "terms": stats.estimated}
        keys, terms = self.counts(list(lacking[0]), list(lacking[1]))
        if any(keys.values()) or any(terms.values()):
            late = {"lexicon": {k: n for k, n in keys.items() if n}}
            found["late"] = {**late, "terms": {t: n for t, n in terms.items() if n}}
        return found

    def article(self, article_id: str) -> dict[str, Any] | None:
        return get_article(self._searcher(), article_id)

    def similar(self, article_id: str) -> tuple[dict[str, Any], wq.Query | None] | None:
        """The article's stored fields and its key-term query, or None when not held here."""
        searcher = self._searcher()
        docnum = searcher.document_number(id=article_id)
        if docnum is None:
            return None
        fields = stored_fields(searcher, docnum)
        return fields, similar_query(searcher.reader(), fields)

    def frequencies(self, terms: list[tuple[str, str]]) -> tuple[int, dict[tuple[str, str], int]]:
        """The generation, and the document frequency of each term here."""
        searcher = self._searcher()  # one reader: the counts are this generation's
        found = {term: searcher.doc_frequency(*term) for term in terms}
        return int(searcher.reader().generation()), found

    def related_candidates(
        self, query: wq.Query, stats: CollectionStats, limit: int
    ) -> list[tuple[float, dict[str, Any]]]:
        """The best `limit` articles for a related-articles query: (score, stored fields)."""
        return candidates_for(self._searcher(stats), query, limit)

    def completions(self, prefix: str, limit: int) -> list[str]:
        return autocomplete(self._searcher(), prefix, limit)


def _filters(searcher: Searcher, request: SearchRequest) -> dict[str, DocSet]:
    """The documents each of the request's filters lets through."""
    values = {facet.field: request.chosen(facet) for facet in VALUE_FACETS}
    return filter_sets(searcher, request.dates, values)
