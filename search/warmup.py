"""Warming an open index's caches before a server forks its workers.

First, each big segment without decoded postings on disk gets them (search.index.sidecar):
the workers then share them through the page cache. That is a one-time cost per segment.
An index keeps its posting lists (and a common list's bit ranks), document sets, field
lengths, facet columns and lexicon in its caches (search.index.caches), filled as searches
need them: cold, the first requests pay for reading and decoding common syllables' posting
lists, the match-all facets, the lexicon and BM25's field lengths. The server warms the very
index object its app serves from, once, in the parent before the fork, so every worker
starts with them (copy-on-write) for the generation it was warmed on. Only the most frequent
terms are warmed: they are the expensive ones, and the ones most queries share.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from typing import Any

from whoosh.searching import Searcher

from search.engine import SearchRequest, run_search
from search.execute.doc_ranks import warm_ranks
from search.execute.docsets import term_docs, term_postings
from search.execute.scoring import field_lengths
from search.features.facets import FACETS, facet_column
from search.index.lexicon import get_lexicon
from search.index.preload import read_ahead, ready_to_serve
from search.index.schema import BIGRAM_FIELDS, FOLDED, FOLDED_BIGRAM, SLUG_FIELD
from search.index.sidecar import MIN_SIDECAR_DOCS
from search.index.store import ArchiveIndex
from search.index.w3_codec import TERMINFO
from search.index.w3_reader import field_entries, w3_terms
from search.query.weights import FIELD_WEIGHTS

log = logging.getLogger(__name__)
WARM_TIME_LIMIT_MS = 600_000  # the browse search that reads the columns is never cut short


def warm_caches(
    index: ArchiveIndex,
    terms_per_field: int,
    sidecar_min_docs: int = MIN_SIDECAR_DOCS,
    preload_percent: int = 0,
) -> dict[str, Any]:
    """Fill the index's caches for its latest generation, after writing the missing
    sidecars of segments holding `sidecar_min_docs` documents or more and reading the files
    ahead within `preload_percent` of the memory available (search.index.preload, in a
    thread of its own); returns what was done and how long. The
    searcher it reads through is closed again: a forked worker opens its own files."""
    started = time.perf_counter()
    readied = ready_to_serve(index, sidecar_min_docs, preload_percent)
    written, preloading = readied.sidecars, readied.preload
    if written:
        log.info("decoded postings of %d segments in %.1f s", len(written), _since(started))
    if preloading.files:
        threading.Thread(target=read_ahead, args=(preloading.files,), daemon=True).start()
        log.info(
            "reading %.0f MB of index files ahead (%.0f MB left out)",
            preloading.size / 1e6,
            preloading.left_out / 1e6,
        )
    with index.searcher() as searcher:
        # browse: dates, time order and facet counts, with time enough to finish (cut short
        # by the search time limit, it would answer without facets and read no facet column,
        # leaving every worker's first search to read them)
        run_search(searcher, SearchRequest(time_limit_ms=WARM_TIME_LIMIT_MS))
        for facet in FACETS:
            facet_column(searcher, facet.field)
        get_lexicon(searcher)
        postings = 0
        for fieldname in warmed_fields():
            if fieldname not in searcher.schema:
                continue  # an index built before the field existed
            field_lengths(searcher, fieldname)  # BM25's lengths, read at the first search
            for text in frequent_terms(searcher, fieldname, terms_per_field):
                postings += len(term_postings(searcher, fieldname, text)[0])
                warm_ranks(searcher, fieldname, text)  # where the list is common
                if fieldname.endswith(FOLDED):
                    term_docs(searcher, fieldname, text)
    took = _since(started)
    log.info("warmed caches: %d postings in %.1f s", postings, took)
    return {
        "postings": postings,
        "sidecars": written,  # the derived files it wrote
        "preloaded_bytes": preloading.size,
        "seconds": round(took, 2),
    }


def _since(started: float) -> float:
    return time.perf_counter() - started


def warmed_fields() -> list[str]:
    """The fields a plain query scores: each text field exact and folded, the pairs, and the
    URL slug's words."""
    fields = [name + suffix for name in FIELD_WEIGHTS for suffix in ("", FOLDED)]
    fields += [name + suffix for name in BIGRAM_FIELDS for suffix in ("_bigram", FOLDED_BIGRAM)]
    return [*fields, SLUG_FIELD]


def frequent_terms(searcher: Searcher, fieldname: str, count: int) -> list[str]:
    """The field's `count` terms found in the most documents, over all segments. In an index
    of one segment the terms inlined in the term table (8 documents at most) are skipped:
    the millions of rare syllable pairs need not be read to find the most frequent."""
    frequency: dict[bytes, int] = {}
    leaves = searcher.reader().leaf_readers()
    for leaf, _ in leaves:
        terms = w3_terms(leaf)
        if terms is None:
            continue  # not a W3 segment: nothing to warm there
        keys, infos = field_entries(terms, fieldname)
        for key, info in zip(keys, infos, strict=True):
            if len(leaves) > 1 or not info[0]:
                frequency[key] = frequency.get(key, 0) + TERMINFO.unpack_from(info)[2]
    top = heapq.nlargest(count, frequency.items(), key=lambda item: item[1])
    return [key.decode("utf-8") for key, _ in top]
