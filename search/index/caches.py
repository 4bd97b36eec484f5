"""What the query side keeps between requests, owned by the open index it was read from.

Every cache lives in one `IndexCaches`, held by the index that `search.index.store.open_index`
returns and handed to each of its searchers as `searcher.caches`: all the searchers of an
index (one per server thread) share one copy, a warm-up fills the very copy the server then
reads, and two indexes never see each other's entries. Code that caches asks `caches_of`.

Each kind of cached thing has its own `SizedCache`, bounded by what it holds. Per-segment
caches outlive commits (a segment never changes once written, and deletions are in the key);
per-generation caches key on the commit generation, so a commit never serves stale entries.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from whoosh.searching import Searcher

# An entry also costs its key and containers (~250 bytes), counted in each budget's units:
# unknown words leave an empty entry per field (and per segment for segment postings).
ENTRY_BYTES = 256  # for caches sized in bytes (arrays, bitmaps)


def _one(_: Any) -> int:
    return 1


class SizedCache:
    """A thread-safe LRU map bounded by the total size of what it holds, not its entry count
    (one common syllable's posting list outweighs thousands of rare ones).

    With `one_generation`, keys start with the index generation and the cache holds one
    generation only: putting an entry of another generation first drops everything (for
    whole-index values, where a thread on an older searcher is the rare case).
    """

    def __init__(
        self, budget: int, size: Callable[[Any], int] = _one, one_generation: bool = False
    ) -> None:
        self.budget = budget
        self.size = size
        self.one_generation = one_generation
        self.held = 0
        self.build_lock = threading.Lock()  # held while computing a value too dear to do twice
        self._generation: Any = None
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.held = 0

    def get(self, key: tuple[Any, ...]) -> Any:
        """The value kept for the key, or None (None is never a kept value)."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        """Keep the value (replacing the key's earlier one), then evict the least recently
        used entries while over budget; the newest entry is always kept."""
        with self._lock:
            if self.one_generation and key[0] != self._generation:
                self._entries.clear()
                self.held = 0
                self._generation = key[0]
            earlier = self._entries.pop(key, None)
            if earlier is not None:
                self.held -= self._counted(earlier)
            self._entries[key] = value
            self.held += self._counted(value)
            while self.held > self.budget and len(self._entries) > 1:
                _, old = self._entries.popitem(last=False)
                self.held -= self._counted(old)

    def _counted(self, value: Any) -> int:
        # at least 1: empty sets (words no document holds) must not pile up uncounted
        return max(1, self.size(value))


def _postings_size(postings: tuple[Any, Any]) -> int:
    """Bytes of a term's postings: its arrays of document numbers and weights."""
    return int(postings[0].nbytes + postings[1].nbytes) + ENTRY_BYTES


def _nbytes_size(value: Any) -> int:
    return int(value.nbytes) + ENTRY_BYTES


def _fields_size(fields: dict[str, Any]) -> int:
    """Bytes of a stored document: its values (texts, mostly)."""
    return sum(sys.getsizeof(value) for value in fields.values()) + ENTRY_BYTES


def _set_size(docs: Any) -> int:
    """Bytes of a set of documents (a roaring bitmap): its containers'."""
    stats = docs.get_statistics()
    held = stats["n_bytes_array_containers"] + stats["n_bytes_run_containers"]
    return int(held + stats["n_bytes_bitset_containers"] + 16 * stats["n_containers"]) + ENTRY_BYTES


class IndexCaches:
    """One open index's caches, one per kind of cached thing, each with its budget.

    Budgets are in the units of each cache's size: bytes, or entries. The posting budget is
    what the load mix showed worth its memory (bench/README.md). The set budget is sized for
    an archive of a million articles: a common syllable's set grows with the archive (a
    bitmap container per 65,536 documents), and a smaller budget lets one query's sets evict
    the next one's. The rank budget holds what the warm-up builds for such an archive: with
    less, its first ranks are evicted by its last, and queries build them again.
    """

    def __init__(self) -> None:
        # Per segment, keyed (segment id, deleted count, ...): they survive commits.
        self.segment_postings = SizedCache(160_000_000, _postings_size)  # bytes
        self.segment_columns = SizedCache(256)  # (segment, field) -> values
        self.block_lists = SizedCache(16_000_000, _nbytes_size)  # where a term's blocks lie
        self.doc_ranks = SizedCache(400_000_000, _nbytes_size)  # a common term's bit ranks
        self.segment_sets = SizedCache(256_000_000, _set_size)  # a term's documents
        self.term_infos = SizedCache(100_000)  # a term's info in its segment, ~700 bytes each
        self.sidecars = SizedCache(256)  # (folder, sidecar key, kind) -> (checked at, file or None)
        # Per generation, keyed (generation, ...): older generations age out in the budget.
        self.postings = SizedCache(160_000_000, _postings_size)  # a term's postings, bytes
        self.sets = SizedCache(256_000_000, _set_size)  # a term's or title query's documents
        self.stored = SizedCache(32_000_000, _fields_size)  # an article's stored fields, bytes
        self.windows = SizedCache(64)  # a date window's documents
        self.facet_counts = SizedCache(256)  # a browse page's facet counts
        self.related = SizedCache(2048)  # an article's related articles
        self.completions = SizedCache(4096)  # autocomplete answers
        # Whole-index values of one generation at a time.
        self.columns = SizedCache(64, one_generation=True)  # (gen, field) -> values
        self.lengths = SizedCache(64, one_generation=True)  # (gen, field) -> BM25 lengths
        self.facet_columns = SizedCache(16, one_generation=True)  # (gen, field) -> coded
        self.dates = SizedCache(1, one_generation=True)  # (gen,) -> publication times
        self.dated_order = SizedCache(1, one_generation=True)  # (gen,) -> (times, docs)
        self.all_docs = SizedCache(1, one_generation=True)  # (gen,) -> live documents
        self.newest = SizedCache(1, one_generation=True)  # (gen,) -> (newest time,)
        # () -> (generation, built at, build seconds, lexicon): the suggestion lexicon, which
        # may serve newer generations for a while (search.index.lexicon).
        self.lexicon = SizedCache(1)
        # A sharded archive's summed statistics, by (shard, generation) pairs
        # (search.cluster.engine): one set of generations at a time.
        self.archive_stats = SizedCache(2)

    def by_name(self) -> dict[str, SizedCache]:
        """Every cache, by its attribute name."""
        return {name: c for name, c in vars(self).items() if isinstance(c, SizedCache)}

    def clear(self) -> None:
        """Empty every cache (a benchmark's cold start; an index no longer served)."""
        for cache in self.by_name().values():
            cache.clear()


def caches_of(searcher: Searcher) -> IndexCaches:
    """The caches of the searcher's index. A searcher of an index opened through
    search.index.store carries them; any other (plain Whoosh, or a leaf searcher Whoosh makes
    for one segment) gets caches of its own, which live as long as it does."""
    caches: IndexCaches | None = getattr(searcher, "caches", None)
    if caches is None:
        caches = searcher.caches = IndexCaches()
    return caches


def generation(searcher: Searcher) -> int | None:
    """The commit generation the searcher reads: the key of the per-generation caches."""
    found: int | None = searcher.reader().generation()
    return found
