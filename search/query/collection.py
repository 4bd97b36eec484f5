"""Collection statistics for BM25F: the searcher's own, or a whole sharded archive's.

BM25F weighs a term by its inverse document frequency (documents holding it, among all
documents) and a document's field length against the average. A shard alone would rank with
its own share of those counts, and two shards would disagree with one index. The sharded
engine sums the counts over every shard and injects them here: `GlobalBM25F` is the project's
BM25F with the whole archive's statistics, for Whoosh's scorers (phrases) and for
search.execute.scoring alike, so a shard scores each document exactly as one index holding the
whole archive would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from whoosh import scoring
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from search.index.lexicon import (
    FOLDED_FIELDS,
    FOLDED_PAIR_FIELDS,
    PAIR_FIELDS,
    SYLLABLE_FIELDS,
    Lexicon,
    get_lexicon,
    quick_fold,
)
from search.index.whoosh_internals import bm25f_parameters


@dataclass(frozen=True)
class CollectionStats:
    """The whole archive's counts: documents (deleted ones too, as Whoosh counts them), each
    field's summed length, and the document frequency of the terms a request scores."""

    documents: int
    field_lengths: dict[str, int] = field(default_factory=dict)
    frequencies: dict[tuple[str, str], int] = field(default_factory=dict)
    # the accent restorer's counts (search.index.lexicon, keyed by its first field and term),
    # and the ones this shard looked up that the archive did not give (filled as it goes)
    lexicon: dict[tuple[str, str], int] = field(default_factory=dict)
    looked_up: dict[tuple[str, str], int] = field(default_factory=dict)
    # the terms scored with this shard's frequency, the archive's not given (their count here)
    estimated: dict[tuple[str, str], int] = field(default_factory=dict)
    used: set[tuple[str, str]] = field(default_factory=set)  # every count asked for, either kind
    # The typed words of a request as the archive knows them (search.execute.agreement): each
    # folded word's spellings in titles and summaries over every shard, and the folded words
    # some shard's titles, summaries or bodies hold (None: not given, this shard's own apply).
    spellings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    known_words: frozenset[str] | None = None

    def avg_field_length(self, fieldname: str) -> float:
        return self.field_lengths.get(fieldname, 0) / (self.documents or 1)

    def with_frequencies(
        self,
        frequencies: dict[tuple[str, str], int],
        lexicon: dict[tuple[str, str], int] | None = None,
    ) -> CollectionStats:
        """These counts in place of the request's (the typed words as the archive knows them
        are kept); nothing looked up, estimated or used yet."""
        return replace(
            self,
            frequencies=frequencies,
            lexicon=lexicon or {},
            looked_up={},
            estimated={},
            used=set(),
        )


class SharedLexicon(Lexicon):
    """A shard's lexicon counting with the archive's frequencies, so that every shard
    restores the accents of a query as one index would (the dominant reading of the whole
    archive, not of the shard's share). Counts the archive did not give are the shard's own,
    and noted in `looked_up` for the engine to ask for. The typed words' spellings are the
    archive's when given: a word only another shard's titles hold is a known word here too,
    not a typo to correct into a word this shard holds. Other syllables are the shard's own."""

    def __init__(self, base: Lexicon, stats: CollectionStats) -> None:
        super().__init__(base.spelling_table())
        self.base = base
        self.stats = stats

    def __contains__(self, folded: object) -> bool:
        return folded in self.stats.spellings or super().__contains__(folded)

    def spellings(self, folded: str) -> tuple[str, ...]:
        listed = self.stats.spellings.get(folded)
        return listed if listed is not None else super().spellings(folded)

    def has_spelling(self, term: str) -> bool:
        return term in self.spellings(quick_fold(term))

    def doc_frequency(self, reader: IndexReader, fields: tuple[str, ...], term: str) -> int:
        key = (fields[0], term)
        self.stats.used.add(key)
        found = self.stats.lexicon.get(key)
        if found is None:
            found = self.base.doc_frequency(reader, fields, term)
            self.stats.looked_up[key] = found
        return found


# SharedLexicon's keys name their fields by the first one
_LEXICON_FIELDS = {
    fields[0]: fields
    for fields in (SYLLABLE_FIELDS, FOLDED_FIELDS, PAIR_FIELDS, FOLDED_PAIR_FIELDS)
}


def lexicon_counts(searcher: Searcher, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """This index's own counts for SharedLexicon keys."""
    lexicon, reader = get_lexicon(searcher), searcher.reader()
    return {
        (first, term): lexicon.doc_frequency(reader, _LEXICON_FIELDS[first], term)
        for first, term in keys
        if first in _LEXICON_FIELDS
    }


def lexicon_of(searcher: Searcher) -> Lexicon:
    """The lexicon accents are restored with: the index's own, counting with the archive's
    frequencies when the searcher scores with them (a shard's)."""
    base = get_lexicon(searcher)
    weighting = searcher.weighting
    if isinstance(weighting, GlobalBM25F):
        return SharedLexicon(base, weighting.stats)
    return base


class GlobalBM25F(scoring.BM25F):
    """A BM25F `like` the project's (search.query.weights.weighting) over the archive's
    statistics.

    A term the statistics do not list (rare: the engine gathers the terms each shard's own
    reading of the words scores) counts with this shard's frequency scaled to the archive
    (ids are routed by hash, so a shard holds a fair sample) and is noted in `estimated`,
    for the engine to ask again with the archive's count. Every term asked for is noted in
    `used`.
    """

    def __init__(self, stats: CollectionStats, like: scoring.BM25F) -> None:
        super().__init__(**bm25f_parameters(like))
        self.stats = stats

    def idf(self, searcher: Searcher, fieldname: str, text: str | bytes) -> float:
        # Whoosh's own matchers ask with the term's bytes, search.execute with its text
        word = text.decode("utf-8") if isinstance(text, bytes) else text
        found = self.stats.frequencies.get((fieldname, word))
        self.stats.used.add((fieldname, word))
        if found is None:
            top = searcher.get_parent()
            here = top.doc_frequency(fieldname, text)
            self.stats.estimated[(fieldname, word)] = here
            found = round(here * self.stats.documents / max(1, top.doc_count_all()))
        return math.log(self.stats.documents / (found + 1)) + 1

    def scorer(self, searcher: Searcher, fieldname: str, text: str, qf: int = 1) -> Any:
        found = super().scorer(searcher, fieldname, text, qf)
        if isinstance(found, scoring.BM25FScorer):
            found.avgfl = self.stats.avg_field_length(fieldname) or 1
        return found


def archive_known_words(searcher: Searcher) -> frozenset[str] | None:
    """The folded typed words some shard of the archive holds, when the searcher scores
    with the archive's statistics and they list them; else None (the index's own apply)."""
    weighting = searcher.weighting
    if isinstance(weighting, GlobalBM25F):
        return weighting.stats.known_words
    return None


def average_field_length(searcher: Searcher, fieldname: str) -> float:
    """The average length of a field over the collection the searcher scores against."""
    weighting = searcher.weighting
    if isinstance(weighting, GlobalBM25F):
        return weighting.stats.avg_field_length(fieldname)
    return float(searcher.avg_field_length(fieldname) or 0)


def local_stats(searcher: Searcher) -> CollectionStats:
    """This searcher's own statistics (its scorable fields' lengths), for the engine to sum
    over shards."""
    reader = searcher.reader()
    scorable = [name for name, kind in searcher.schema.items() if kind.scorable]
    lengths = {name: int(reader.field_length(name)) for name in scorable}
    return CollectionStats(searcher.doc_count_all(), lengths)
