"""How one document's fields become postings in memory, for search.index.bulk_writer.

The analysed fields of the four Vietnamese chains (search/analysis/chains.py) are read once per
text: its terms' numbers in the writer's vocabulary, one lookup a piece of text
(`TermIds.numbers`; new pieces go through the importer's `TermMemo`, which gives what
`index_terms` gives). Folded terms and syllable pairs are derived from that one pass, kept as
term numbers in arrays until commit (search/index/bulk_arrays.py). ID fields index their value
as the one term.
Any other field is left to Whoosh (`fast_field` -> None).
"""

from __future__ import annotations

from array import array
from itertools import chain
from typing import Any

import numpy as np
from whoosh.analysis import CompositeAnalyzer, IDTokenizer
from whoosh.fields import ID, TEXT
from whoosh.formats import Existence, Frequency, Positions

from search.analysis.chains import (
    ExactAnalyzer,
    ExactBigramAnalyzer,
    FoldedAnalyzer,
    FoldedBigramAnalyzer,
    TermMemo,
)
from search.analysis.filters import VietFoldFilter, pair_links
from search.index.bulk_arrays import TermIds, TokenColumns, freq_bytes
from search.index.pair_columns import PairColumns
from search.index.posting_rows import PostingArrays, whole

# The four chains, and whether each makes syllable pairs (folding is read off the chain).
_CHAINS = (
    (ExactAnalyzer(), False),
    (FoldedAnalyzer(), False),
    (ExactBigramAnalyzer(), True),
    (FoldedBigramAnalyzer(), True),
)


class Text:
    """One text's analysis, shared by the fields that index it (title and its twins): its
    terms' numbers in the writer's vocabulary and their positions."""

    __slots__ = ("term_ids", "positions")

    def __init__(self, text: str, memo: TermMemo, vocabulary: TermIds) -> None:
        self.term_ids, self.positions = vocabulary.numbers(text, memo)

    def pair_ids(self) -> tuple[array[int], array[int]]:
        """The syllable pairs of the text: each pair's first and second term number.

        A dotted word's groups share its position (search.analysis.pair_links); most texts
        have none, and then every term pairs with the next.
        """
        term_ids, positions = self.term_ids, self.positions
        if not positions or positions[-1] == len(positions) - 1:  # no dotted word
            return term_ids[:-1], term_ids[1:]
        links = pair_links(positions.tolist())
        firsts = array("i", [term_ids[a] for a, _ in links])
        return firsts, array("i", [term_ids[b] for _, b in links])


# How a field's postings are kept until commit: per term, a list of
#   TRIPLES      docnum, weight, value, docnum, weight, value, ...   (positions, other fields)
#   FREQUENCIES  docnums, each followed by -frequency when that is not 1  (Frequency fields)
#   DOCNUMS      docnums  (ID fields: weight = field boost, no value)
TRIPLES, FREQUENCIES, DOCNUMS = "triples", "frequencies", "docnums"


def columns(
    layout: str, found: list[Any], boost: float
) -> tuple[list[int], list[float], list[bytes]]:
    """The document numbers, weights and values of one term's postings."""
    if layout == TRIPLES:
        return found[0::3], [float(w) for w in found[1::3]], found[2::3]
    if layout == DOCNUMS:
        return found, [boost] * len(found), [b""] * len(found)
    if found[-1] >= 0 and min(found) >= 0:  # every frequency 1
        return found, [boost] * len(found), [freq_bytes(1)] * len(found)
    ids: list[int] = []
    freqs: list[int] = []
    for n in found:
        if n >= 0:
            ids.append(n)
            freqs.append(1)
        else:
            freqs[-1] = -n
    return ids, [f * boost for f in freqs], [freq_bytes(f) for f in freqs]


class FastField:
    """How to index one TEXT field whose analyzer is one of the four chains: its tokens
    (words, or syllable pairs) go to its TokenColumns or PairColumns."""

    __slots__ = ("pairs", "positions", "boost", "fold")

    def __init__(self, pairs: bool, field: Any) -> None:
        self.pairs = pairs
        self.positions = type(field.format) is Positions
        boost = float(field.format.field_boost)
        self.boost: float | None = None if boost == 1.0 else boost  # None: weight = freq
        self.fold = any(isinstance(f, VietFoldFilter) for f in field.analyzer.items)

    def columns(self, vocabulary: TermIds) -> TokenColumns:
        """Where the field's tokens are kept until commit."""
        if self.pairs:
            return PairColumns(vocabulary, self.fold, self.boost)
        return TokenColumns(vocabulary, self.positions, self.fold, self.boost)

    def add(self, text: Text, docnum: int, postings: TokenColumns) -> int:
        """Add the tokens of one document's text; returns the field length (token count)."""
        if isinstance(postings, PairColumns):
            firsts, seconds = text.pair_ids()
            postings.add_pairs(firsts, seconds, docnum)
            return len(firsts)
        postings.add(text.term_ids, text.positions, docnum)
        return len(text.term_ids)


class IdField:
    """How to index an ID field with Whoosh's own analyzer: the value is the one term."""

    __slots__ = ("weight", "layout")

    def __init__(self, field: Any) -> None:
        self.weight = float(field.format.field_boost)
        self.layout = DOCNUMS

    def add(self, value: str, docnum: int, postings: dict[Any, list[Any]]) -> int:
        found = postings.get(value)  # layout DOCNUMS
        if found is None:
            postings[value] = [docnum]
        else:
            found.append(docnum)
        return 0


class DictPostings:
    """A field's new postings kept in a dict of lists per term, with FieldPostings's
    interface (search.index.bulk_arrays): terms in order, postings by term index."""

    def __init__(self, postings: dict[Any, list[Any]], layout: str, boost: float) -> None:
        terms = sorted(postings)
        self.found = list(map(postings.__getitem__, terms))
        self.keys = [t if isinstance(t, bytes) else t.encode("utf-8") for t in terms]
        self.layout = layout
        self.boost = boost

    def postings(self, index: int) -> tuple[list[int], list[float], list[bytes]]:
        return columns(self.layout, self.found[index], self.boost)

    def arrays(self) -> PostingArrays | None:
        """The postings as arrays for inlined_infos; None when a weight is not whole."""
        found, layout = self.found, self.layout
        sizes = np.fromiter(map(len, found), np.int64, len(found))
        flat = list(chain.from_iterable(found))
        if layout == TRIPLES:
            counts = sizes // 3
            docnums = np.array(flat[0::3], dtype=np.int64)
            weights = whole(np.array(flat[1::3], dtype=np.float64))
            values = flat[2::3]
            value_sizes = np.fromiter(map(len, values), np.int64, len(values))
            data = np.frombuffer(b"".join(values), np.uint8)
        elif layout == DOCNUMS:
            counts = sizes
            docnums = np.array(flat, dtype=np.int64)
            weights = whole(np.full(len(docnums), self.boost))
            value_sizes = np.zeros(len(docnums), dtype=np.int64)
            data = np.zeros(0, dtype=np.uint8)
        else:  # FREQUENCIES: a frequency other than 1 follows its document, negated
            raw = np.array(flat, dtype=np.int64)
            kept = raw >= 0
            docnums = raw[kept]
            freqs = np.ones(len(docnums), dtype=np.int64)
            freqs[(np.cumsum(kept) - 1)[~kept]] = -raw[~kept]
            counts = np.add.reduceat(kept, np.cumsum(sizes) - sizes) if len(raw) else sizes
            weights = whole(freqs * self.boost)
            value_sizes = np.full(len(docnums), 4, dtype=np.int64)
            data = freqs.astype(">u4").view(np.uint8)  # each the frequency packed as "!I"
        if weights is None:
            return None
        ends = np.cumsum(value_sizes)
        bounds = np.append(0, np.cumsum(counts))
        return PostingArrays(docnums, weights, data, ends - value_sizes, ends, bounds)


def forget_document(postings: Any, layout: str, docnum: int) -> None:
    """Drop the postings of the last document added, `docnum`, from a field's postings."""
    if isinstance(postings, TokenColumns):
        postings.forget(docnum)
        return
    for term in list(postings):
        found = postings[term]
        if layout == TRIPLES:
            if found[-3] == docnum:
                del found[-3:]
        else:
            if found[-1] < 0 and found[-2] == docnum:
                del found[-1]
            if found[-1] == docnum:
                del found[-1]
        if not found:
            del postings[term]


def fast_field(field: Any) -> FastField | IdField | None:
    if field.vector or field.separate_spelling():
        return None
    if type(field) is ID and type(field.analyzer) is IDTokenizer:
        return IdField(field) if type(field.format) is Existence else None
    if type(field) is not TEXT or type(field.format) not in (Frequency, Positions):
        return None
    if not isinstance(field.analyzer, CompositeAnalyzer):
        return None
    for analyzer, pairs in _CHAINS:
        if field.analyzer == analyzer:
            return FastField(pairs, field)
    return None
